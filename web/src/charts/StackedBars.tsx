import { useId } from "react";
import { ChartTable } from "./ChartTable.tsx";
import { formatNumber } from "./palette.ts";

export interface Stack {
  label: string;
  /** Each part in `parts` order, e.g. [used, free]. */
  values: number[];
}

const ROW = 34;
const LABEL_W = 150;
const WIDTH = 560;
const COLOURS = ["#1f5fa8", "#c9d6e6"];

/** One bar per item split into parts (e.g. seats used and free), each bar the item's whole. */
export function StackedBars({ title, parts, stacks }: { title: string; parts: string[]; stacks: Stack[] }) {
  const id = useId();
  const plot = WIDTH - LABEL_W - 150;
  const height = stacks.length * ROW + 30;
  const describe = (s: Stack) => `${s.label}: ${parts.map((p, i) => `${formatNumber(s.values[i] ?? 0)} ${p}`).join(", ")}`;
  return (
    <figure className="chart">
      <svg role="img" aria-labelledby={`${id}-t ${id}-d`} viewBox={`0 0 ${WIDTH} ${height}`} width="100%" style={{ maxWidth: WIDTH }}>
        <title id={`${id}-t`}>{title}</title>
        <desc id={`${id}-d`}>{stacks.length === 0 ? "Nothing to show." : `${stacks.map(describe).join("; ")}.`}</desc>
        {stacks.map((s, i) => {
          const y = i * ROW;
          const total = s.values.reduce((n, v) => n + v, 0);
          let x = LABEL_W;
          return (
            <g key={s.label}>
              <text x={LABEL_W - 8} y={y + ROW / 2} textAnchor="end" dominantBaseline="middle" fontSize="13" fill="currentColor">
                {s.label}
              </text>
              {s.values.map((v, j) => {
                const w = total === 0 ? 0 : (v / total) * plot;
                const rect = (
                  <rect
                    // biome-ignore lint/suspicious/noArrayIndexKey: parts are positional
                    key={j}
                    x={x}
                    y={y + 6}
                    width={w}
                    height={ROW - 12}
                    fill={COLOURS[j % COLOURS.length]}
                    stroke="#1f5fa8"
                    strokeWidth="0.5"
                  />
                );
                x += w;
                return rect;
              })}
              <text x={LABEL_W + plot + 8} y={y + ROW / 2} dominantBaseline="middle" fontSize="12" fill="currentColor">
                {parts.map((p, j) => `${formatNumber(s.values[j] ?? 0)} ${p}`).join(" · ")}
              </text>
            </g>
          );
        })}
        <g transform={`translate(${LABEL_W}, ${stacks.length * ROW + 8})`}>
          {parts.map((p, j) => (
            <g key={p} transform={`translate(${j * 110}, 0)`}>
              <rect width="14" height="14" fill={COLOURS[j % COLOURS.length]} stroke="#1f5fa8" strokeWidth="0.5" />
              <text x="20" y="11" fontSize="12" fill="currentColor">
                {p}
              </text>
            </g>
          ))}
        </g>
      </svg>
      <ChartTable
        caption={title}
        columns={[{ header: "" }, ...parts.map((p) => ({ header: p[0]?.toUpperCase() + p.slice(1), numeric: true }))]}
        rows={stacks.map((s) => [s.label, ...parts.map((_, j) => formatNumber(s.values[j] ?? 0))])}
      />
    </figure>
  );
}
