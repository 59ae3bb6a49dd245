import { useEffect, useRef } from 'preact/hooks';

/** Series options as ECharts takes them (kept loose here: the library's types load with it). */
export type ChartOption = Record<string, unknown>;

/** What a click hit: a node or an edge (Sankey, graph), and its data item. */
export interface ChartClick {
  dataType?: string;
  data?: unknown;
}

/**
 * An ECharts chart, drawn when its code arrives (a separate chunk). `label` describes it for
 * screen readers; ECharts' aria module adds a generated description of the data too. The
 * instance is kept on the element (`.echarts`) so browser tests can find where a node is drawn.
 */
export function Chart({
  option,
  label,
  onClick,
  height,
}: {
  option: ChartOption;
  label: string;
  onClick?: (name: string, hit: ChartClick) => void;
  height?: number;
}) {
  const el = useRef<HTMLDivElement>(null);
  const clicked = useRef(onClick);
  clicked.current = onClick;
  useEffect(() => {
    let chart: import('echarts/core').ECharts | undefined;
    let disposed = false;
    const resize = () => chart?.resize();
    void import('./echarts-setup').then(({ echarts }) => {
      if (disposed || !el.current) return;
      const c = echarts.init(el.current, undefined, { renderer: 'canvas' });
      c.setOption({ aria: { enabled: true }, animationDuration: 300, ...option }, true);
      c.on('click', (p) => {
        const hit = p as { name: string; dataType?: string; data?: unknown };
        clicked.current?.(hit.name, { dataType: hit.dataType, data: hit.data });
      });
      (el.current as HTMLDivElement & { echarts?: unknown }).echarts = c;
      chart = c;
      window.addEventListener('resize', resize);
    });
    return () => {
      disposed = true;
      window.removeEventListener('resize', resize);
      chart?.dispose();
    };
  }, [JSON.stringify(option)]);
  return (
    <div
      ref={el}
      class="chart"
      role="img"
      aria-label={label}
      style={height ? { height: `${height}px` } : undefined}
    />
  );
}
