import { useEffect, useRef } from 'preact/hooks';
import type { IdentityExplanation } from '../types';

const key = (i: { type: string; value: string }) => `${i.type}:${i.value}`;

/**
 * The identity graph drawn with Cytoscape (its own chunk): identifiers are nodes, each link joins
 * the identifiers its message carried (labelled with its number and rule; the evidence is in the
 * table beside); untrusted identifiers are outlined red, dropped links dashed.
 */
export function IdentityGraph({ identity }: { identity: IdentityExplanation }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    let cy: { destroy(): void } | undefined;
    let gone = false;
    void import('cytoscape').then(({ default: cytoscape }) => {
      if (gone || !el.current) return;
      const nodes = new Map<string, { type: string; value: string; untrusted: boolean; member: boolean }>();
      for (const i of identity.identifiers)
        nodes.set(key(i), { ...i, untrusted: Boolean(i.untrusted), member: true });
      const edges: { id: string; source: string; target: string; label: string; dropped: boolean }[] = [];
      for (const l of identity.links) {
        const [first, ...rest] = l.identifiers;
        if (!first) continue;
        for (const i of l.identifiers)
          if (!nodes.has(key(i))) nodes.set(key(i), { ...i, untrusted: false, member: false });
        for (const other of rest) {
          const dropped = l.dropped.some((d) => d.type === other.type && d.value === other.value);
          edges.push({
            id: `l${l.id}-${key(other)}`,
            source: key(first),
            target: key(other),
            label: `#${l.id} ${l.rule}`,
            dropped,
          });
        }
      }
      cy = cytoscape({
        container: el.current,
        elements: [
          ...[...nodes.entries()].map(([id, n]) => ({
            data: { id, label: `${n.type}\n${n.value.length > 28 ? `${n.value.slice(0, 26)}…` : n.value}` },
            classes: [
              n.untrusted ? 'untrusted' : '',
              n.member ? '' : 'outside',
              id === key(identity.anchor) ? 'anchor' : '',
            ]
              .filter(Boolean)
              .join(' '),
          })),
          ...edges.map((e) => ({ data: e, classes: e.dropped ? 'dropped' : '' })),
        ],
        style: [
          {
            selector: 'node',
            style: {
              label: 'data(label)',
              'text-wrap': 'wrap',
              'font-size': 10,
              'text-valign': 'bottom',
              'text-margin-y': 4,
              'background-color': '#2457c5',
              width: 22,
              height: 22,
              color: '#1b1f24',
            },
          },
          { selector: 'node.anchor', style: { 'background-color': '#1d7a46', width: 30, height: 30 } },
          {
            selector: 'node.untrusted',
            style: { 'border-width': 3, 'border-color': '#b42318', 'background-color': '#fde7e5' },
          },
          { selector: 'node.outside', style: { 'background-color': '#9aa3af' } },
          {
            selector: 'edge',
            style: {
              width: 2,
              'line-color': '#9aa3af',
              label: 'data(label)',
              'font-size': 9,
              color: '#555d68',
            },
          },
          { selector: 'edge.dropped', style: { 'line-style': 'dashed', 'line-color': '#b42318' } },
        ],
        layout: { name: nodes.size > 2 ? 'cose' : 'grid', animate: false, padding: 30 } as never,
        minZoom: 0.3,
        maxZoom: 1.2,
      });
    });
    return () => {
      gone = true;
      cy?.destroy();
    };
  }, [identity]);
  return (
    <div
      ref={el}
      class="graph"
      role="img"
      aria-label={`Identity graph: ${identity.identifiers.length} identifiers joined by ${identity.links.length} links`}
    />
  );
}
