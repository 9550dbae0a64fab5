import { expect, it } from "vitest";
import { formatPercent, lastDays, periodLabel } from "./analytics";

it("counts the last days back from today, both ends included, across months and years", () => {
  expect(lastDays(7, new Date(2026, 2, 31))).toEqual({ from: "2026-03-25", to: "2026-03-31" });
  expect(lastDays(30, new Date(2026, 2, 1))).toEqual({ from: "2026-01-31", to: "2026-03-01" });
  expect(lastDays(90, new Date(2026, 0, 15))).toEqual({ from: "2025-10-18", to: "2026-01-15" });
  expect(lastDays(1, new Date(2026, 5, 9, 23, 59))).toEqual({ from: "2026-06-09", to: "2026-06-09" });
});

it("shows rates as percentages exactly, and no base as a dash", () => {
  expect(formatPercent("0.0345", "en")).toBe("3.45%");
  expect(formatPercent("0.1000", "zh-Hans")).toBe("10%");
  expect(formatPercent("1.0000", "en")).toBe("100%");
  expect(formatPercent("0.0001", "en")).toBe("0.01%");
  expect(formatPercent(null, "en")).toBe("—");
});

it("labels a period by its first day, or its month", () => {
  expect(periodLabel("2026-03-02", "DAY", "en")).toBe("2 Mar");
  expect(periodLabel("2026-03-02", "WEEK", "zh-Hans")).toBe("3月2日");
  expect(periodLabel("2026-03-01", "MONTH", "en")).toBe("Mar 2026");
  expect(periodLabel("2026-03-01", "MONTH", "zh-Hans")).toBe("2026年3月");
});
