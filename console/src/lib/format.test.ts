import { describe, expect, it } from "vitest";
import { formatDate, formatDateTime, formatMoney, hoursLeft } from "./format";

describe("money", () => {
  it("shows CNY with ¥ in both languages, exactly as the decimal string says", () => {
    expect(formatMoney({ amount: "5999.00", currency: "CNY" }, "en")).toBe("¥5,999.00");
    expect(formatMoney({ amount: "5999.00", currency: "CNY" }, "zh-Hans")).toBe("¥5,999.00");
    // No float on the way: 0.1 + 0.2 style errors and large amounts stay exact.
    expect(formatMoney({ amount: "12345678901234.57", currency: "CNY" }, "en")).toBe("¥12,345,678,901,234.57");
    expect(formatMoney({ amount: "-2000.00", currency: "CNY" }, "en")).toBe("-¥2,000.00");
  });
  it("uses each currency's own symbol and places", () => {
    expect(formatMoney({ amount: "10.5", currency: "USD" }, "en")).toBe("$10.50");
    expect(formatMoney({ amount: "1000", currency: "JPY" }, "en")).toBe("¥1,000");
    expect(formatMoney(null, "en")).toBe("—");
  });
});

describe("dates", () => {
  it("shows an instant in the given time zone", () => {
    const instant = "2026-03-01T16:30:00+00:00";
    expect(formatDateTime(instant, "en", "Asia/Shanghai")).toContain("2 Mar 2026");
    expect(formatDateTime(instant, "en", "Asia/Shanghai")).toContain("00:30");
    expect(formatDateTime(instant, "en", "Europe/London")).toContain("1 Mar 2026");
    expect(formatDateTime(instant, "zh-Hans", "Asia/Shanghai")).toContain("2026年3月2日");
  });
  it("shows a calendar day as that day wherever the user is", () => {
    expect(formatDate("2026-01-31", "en")).toBe("31 Jan 2026");
    expect(formatDate("2026-01-31", "zh-Hans")).toBe("2026年1月31日");
  });
  it("counts hours left to a deadline", () => {
    expect(hoursLeft("2026-03-02T12:00:00Z", new Date("2026-03-01T12:00:00Z"))).toBe(24);
    expect(hoursLeft("2026-03-01T11:00:00Z", new Date("2026-03-01T12:00:00Z"))).toBe(-1);
  });
});
