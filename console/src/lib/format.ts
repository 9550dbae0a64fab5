// Money per currency (narrow symbol: ¥ for CNY in both languages) and dates in the user's own time
// zone (the browser's), in the console's language.
export type MoneyValue = { amount: string; currency: string };

export function intlLocale(language: string) {
  return language === "zh-Hans" ? "zh-CN" : "en-GB";
}

export function formatMoney(money: MoneyValue | null | undefined, language: string): string {
  if (!money) return "—";
  const format = new Intl.NumberFormat(intlLocale(language), {
    style: "currency",
    currency: money.currency,
    currencyDisplay: "narrowSymbol",
  });
  // Amounts are decimal strings; Intl formats a numeric string exactly (no float rounding).
  return format.format(money.amount as unknown as number);
}

export function formatDateTime(value: string | null | undefined, language: string, timeZone?: string): string {
  if (!value) return "—";
  return new Intl.DateTimeFormat(intlLocale(language), { dateStyle: "medium", timeStyle: "short", timeZone }).format(new Date(value));
}

export function formatDate(value: string | null | undefined, language: string): string {
  if (!value) return "—";
  // A Date (YYYY-MM-DD) is a calendar day, not an instant: shown as it is.
  const [year, month, day] = value.split("-").map(Number);
  return new Intl.DateTimeFormat(intlLocale(language), { dateStyle: "medium", timeZone: "UTC" }).format(new Date(Date.UTC(year, month - 1, day)));
}

/** Time left until a deadline, in hours (negative once passed). */
export function hoursLeft(deadline: string, now: Date = new Date()): number {
  return Math.floor((new Date(deadline).getTime() - now.getTime()) / 3_600_000);
}

export function formatBytes(size: number): string {
  if (size >= 1024 * 1024) return `${(size / 1024 / 1024).toFixed(1)} MB`;
  if (size >= 1024) return `${Math.round(size / 1024)} KB`;
  return `${size} B`;
}
