import { useId } from "react";
import { Link } from "../router.tsx";
import { ChartTable } from "./ChartTable.tsx";
import { colourAt, formatNumber } from "./palette.ts";

export interface Slice {
  label: string;
  value: number;
  /** Where the slice's items are listed (linked from the legend and the table). */
  href?: string;
}

const R = 70;
const STROKE = 28;
const C = 2 * Math.PI * R;

/** A donut of shares of a whole, with a legend that carries the figures (zero slices stay in the legend). */
export function DonutChart({ title, slices, unit }: { title: string; slices: Slice[]; unit: string }) {
  const id = useId();
  const total = slices.reduce((n, s) => n + s.value, 0);
  let offset = 0;
  const pct = (v: number) => (total === 0 ? 0 : Math.round((v / total) * 1000) / 10);
  return (
    <figure className="chart donut">
      <div style={{ display: "flex", flexWrap: "wrap", gap: "1rem", alignItems: "center" }}>
        <svg role="img" aria-labelledby={`${id}-t ${id}-d`} viewBox="0 0 200 200" width="180" height="180">
          <title id={`${id}-t`}>{title}</title>
          <desc id={`${id}-d`}>
            {total === 0
              ? `No ${unit}.`
              : `${formatNumber(total)} ${unit}. ${slices.map((s) => `${s.label}: ${formatNumber(s.value)} (${pct(s.value)}%)`).join("; ")}.`}
          </desc>
          <circle cx="100" cy="100" r={R} fill="none" stroke="#e6e9ee" strokeWidth={STROKE} />
          {slices.map((s, i) => {
            const len = total === 0 ? 0 : (s.value / total) * C;
            const el = (
              <circle
                key={s.label}
                cx="100"
                cy="100"
                r={R}
                fill="none"
                stroke={colourAt(i)}
                strokeWidth={STROKE}
                strokeDasharray={`${len} ${C - len}`}
                strokeDashoffset={-offset}
                transform="rotate(-90 100 100)"
              />
            );
            offset += len;
            return el;
          })}
          <text x="100" y="96" textAnchor="middle" fontSize="24" fontWeight="600" fill="currentColor">
            {formatNumber(total)}
          </text>
          <text x="100" y="118" textAnchor="middle" fontSize="12" fill="currentColor">
            {unit}
          </text>
        </svg>
        <ul className="legend" aria-label={`${title}: legend`} style={{ listStyle: "none", padding: 0, margin: 0 }}>
          {slices.map((s, i) => (
            <li key={s.label} style={{ display: "flex", alignItems: "center", gap: "0.5rem", margin: "0.2rem 0" }}>
              <span aria-hidden="true" style={{ width: 12, height: 12, background: colourAt(i), display: "inline-block", flex: "none" }} />
              <span>
                {s.href && s.value > 0 ? <Link to={s.href}>{s.label}</Link> : s.label} — {formatNumber(s.value)} ({pct(s.value)}%)
              </span>
            </li>
          ))}
        </ul>
      </div>
      <ChartTable
        caption={title}
        columns={[{ header: "" }, { header: unit[0]?.toUpperCase() + unit.slice(1), numeric: true }, { header: "Share", numeric: true }]}
        rows={slices.map((s) => [
          s.href ? (
            <Link key={s.label} to={s.href}>
              {s.label}
            </Link>
          ) : (
            s.label
          ),
          formatNumber(s.value),
          `${pct(s.value)}%`,
        ])}
      />
    </figure>
  );
}
