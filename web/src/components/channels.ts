// One colour and short mark per channel, so a channel looks the same on every page.
const COLORS: Record<string, string> = {
  'Paid Search': '#1f6feb',
  'Organic Search': '#1d7a46',
  'Paid Social': '#8250df',
  'Organic Social': '#bf3989',
  Email: '#b35900',
  Direct: '#57606a',
  Referral: '#0a7e8c',
  Display: '#9a6700',
  Podcast: '#6f42c1',
  Webinar: '#0969da',
  Events: '#cf222e',
  Sales: '#953800',
  Retargeting: '#6e40c9',
  'Outbound Sales': '#a40e26',
  Affiliates: '#116329',
  'Paid Video': '#a0111f',
  Unassigned: '#6e7781',
};

export function channelColor(channel: string | null | undefined): string {
  if (!channel) return '#6e7781';
  const known = COLORS[channel];
  if (known) return known;
  let h = 0;
  for (const c of channel) h = (h * 31 + c.charCodeAt(0)) % 360;
  return `hsl(${h} 55% 38%)`;
}

/** Up to two letters: "Paid Search" → "PS". */
export function channelMark(channel: string | null | undefined): string {
  if (!channel) return '·';
  const words = channel.split(/\s+/).filter(Boolean);
  return (
    words.length > 1 ? (words[0]?.[0] ?? '') + (words[1]?.[0] ?? '') : channel.slice(0, 2)
  ).toUpperCase();
}
