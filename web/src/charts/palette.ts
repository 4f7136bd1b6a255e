/** Chart colours: distinguishable for common colour-vision deficiencies, each at least 3:1 against white. */
export const PALETTE = ["#1f5fa8", "#c2571a", "#2f7d4f", "#8a3ea8", "#a8323e", "#5d6b7a", "#8a6d00", "#0f7c8a"] as const;

export function colourAt(i: number): string {
  return PALETTE[i % PALETTE.length] ?? "#1f5fa8";
}

export const formatNumber = (n: number) => n.toLocaleString("en-US");
