// The store analytics panel's arithmetic: the range a picker stands for, and rates and counts in the
// console's language. Rates come from the API as decimal strings (0.0345 is 3.45 %).
import { intlLocale } from "./format";

export const RANGES = [7, 30, 90] as const;
export type RangeDays = (typeof RANGES)[number];
export const PERIODS = ["DAY", "WEEK", "MONTH"] as const;
export type Period = (typeof PERIODS)[number];

function isoDay(day: Date): string {
  const month = String(day.getMonth() + 1).padStart(2, "0");
  const date = String(day.getDate()).padStart(2, "0");
  return `${day.getFullYear()}-${month}-${date}`;
}

/** The last `days` calendar days up to today (in the user's time zone), both ends included. */
export function lastDays(days: number, today: Date = new Date()): { from: string; to: string } {
  const start = new Date(today.getFullYear(), today.getMonth(), today.getDate() - (days - 1));
  return { from: isoDay(start), to: isoDay(today) };
}

/** A rate (a decimal string, 0..1) as a percentage; "—" where it has no base (no visitors, no orders). */
export function formatPercent(rate: string | null | undefined, language: string): string {
  if (rate === null || rate === undefined || rate === "") return "—";
  const format = new Intl.NumberFormat(intlLocale(language), { style: "percent", minimumFractionDigits: 0, maximumFractionDigits: 2 });
  // A numeric string is formatted exactly (no float on the way), like the money formatter does.
  return format.format(rate as unknown as number);
}

export function formatCount(value: number, language: string): string {
  return new Intl.NumberFormat(intlLocale(language)).format(value);
}

/** A period's first day as a short axis label: 3 Mar / 3月3日, or Mar 2026 / 2026年3月 for months. */
export function periodLabel(date: string, period: Period, language: string): string {
  const [year, month, day] = date.split("-").map(Number);
  const instant = new Date(Date.UTC(year, month - 1, day));
  const options: Intl.DateTimeFormatOptions = period === "MONTH" ? { year: "numeric", month: "short", timeZone: "UTC" } : { month: "short", day: "numeric", timeZone: "UTC" };
  return new Intl.DateTimeFormat(intlLocale(language), options).format(instant);
}

/** A money amount (a decimal string) as a number, for drawing only: figures shown as text use formatMoney. */
export function chartAmount(amount: string): number {
  return Number(amount);
}

/** A rate as a percentage number, for drawing only (null: a gap in the line). */
export function chartPercent(rate: string | null | undefined): number | null {
  return rate === null || rate === undefined ? null : Number(rate) * 100;
}

/** "direct" (no referrer, no utm_source) in the user's language; other sources as they were recorded. */
export function sourceName(source: string, t: (id: string) => string): string {
  return source === "direct" ? t("Direct") : source;
}

/** Where a fresh download link is opened (a seam for the component tests: jsdom cannot navigate). */
export const navigation = {
  assign(url: string) {
    window.location.assign(url);
  },
};
