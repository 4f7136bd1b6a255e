import { useId } from "react";
import { Link } from "../router.tsx";
import { ChartTable } from "./ChartTable.tsx";
import { colourAt, formatNumber } from "./palette.ts";

export interface Bar {
  label: string;
  value: number;
  /** Where the bar's items are listed (linked from the table). */
  href?: string;
}

const ROW = 28;
const LABEL_W = 210;
const VALUE_W = 64;
const WIDTH = 560;

/**
 * Horizontal bars, one per category, largest scale = largest value. An SVG image titled and
 * summarised for assistive technology, with the figures as a table underneath.
 */
export function BarChart({ title, bars, unit }: { title: string; bars: Bar[]; unit: string }) {
  const id = useId();
  const max = Math.max(1, ...bars.map((b) => b.value));
  const plot = WIDTH - LABEL_W - VALUE_W;
  const height = bars.length * ROW + 8;
  const total = bars.reduce((n, b) => n + b.value, 0);
  const summary = bars.map((b) => `${b.label}: ${formatNumber(b.value)}`).join("; ");
  return (
    <figure className="chart">
      <svg
        role="img"
        aria-labelledby={`${id}-t ${id}-d`}
        viewBox={`0 0 ${WIDTH} ${height}`}
        width="100%"
        style={{ maxWidth: WIDTH }}
        preserveAspectRatio="xMinYMin meet"
      >
        <title id={`${id}-t`}>{title}</title>
        <desc id={`${id}-d`}>{total === 0 ? `No ${unit}.` : `${formatNumber(total)} ${unit} in all. ${summary}.`}</desc>
        {bars.map((b, i) => {
          const y = 4 + i * ROW;
          const w = b.value === 0 ? 0 : Math.max(2, (b.value / max) * plot);
          return (
            <g key={b.label}>
              <text x={LABEL_W - 8} y={y + ROW / 2} textAnchor="end" dominantBaseline="middle" fontSize="13" fill="currentColor">
                {b.label.length > 30 ? `${b.label.slice(0, 29)}…` : b.label}
              </text>
              <rect x={LABEL_W} y={y + 4} width={w} height={ROW - 8} rx="2" fill={colourAt(i)} />
              <text x={LABEL_W + w + 6} y={y + ROW / 2} dominantBaseline="middle" fontSize="13" fill="currentColor">
                {formatNumber(b.value)}
              </text>
            </g>
          );
        })}
      </svg>
      <ChartTable
        caption={title}
        columns={[{ header: "" }, { header: unit[0]?.toUpperCase() + unit.slice(1), numeric: true }]}
        rows={bars.map((b) => [
          b.href ? (
            <Link key={b.label} to={b.href}>
              {b.label}
            </Link>
          ) : (
            b.label
          ),
          formatNumber(b.value),
        ])}
      />
    </figure>
  );
}
