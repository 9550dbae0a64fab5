import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, expect, it, vi } from "vitest";
import type { ReactNode } from "react";
import { I18nProvider, type Language } from "../lib/i18n";
import { navigation } from "../lib/analytics";
import { AnalyticsPanel } from "./AnalyticsPanel";

// jsdom has no canvas: each chart renders what it was given, so the test reads the drawn series.
vi.mock("react-chartjs-2", () => {
  const Stub = ({ data, ...props }: { data: { labels: string[]; datasets: { label?: string; data: (number | null)[] }[] }; "aria-label"?: string }) => (
    <div data-testid="chart" aria-label={props["aria-label"]} data-labels={JSON.stringify(data.labels)} data-series={JSON.stringify(data.datasets.map((d) => [d.label ?? "", d.data]))} />
  );
  return { Chart: Stub, Bar: Stub, Doughnut: Stub };
});

afterEach(() => vi.unstubAllGlobals());

const TODAY = new Date(2026, 2, 31); // 31 March 2026, in the test's own time zone
const money = (amount: string) => ({ amount, currency: "CNY" });

function figures(overrides: Record<string, unknown> = {}) {
  return {
    visitors: 1234, productViews: 3000, storeViews: 456, orderingVisitors: 42, conversionRate: "0.0340",
    orders: 50, gmv: money("12345.60"), averageOrderValue: money("246.91"), refunds: 2, refunded: money("399.00"),
    refundRate: "0.0400", shoppers: 40, returningShoppers: 7, repurchaseRate: "0.1750", ...overrides,
  };
}

function report(overrides: Record<string, unknown> = {}) {
  return {
    from: "2026-03-02", to: "2026-03-31", period: "DAY",
    totals: figures(),
    periods: [
      { date: "2026-03-30", visitors: 600, productViews: 1500, storeViews: 200, conversionRate: "0.0300", orders: 20, gmv: money("5000.00") },
      { date: "2026-03-31", visitors: 634, productViews: 1500, storeViews: 256, conversionRate: null, orders: 30, gmv: money("7345.60") },
    ],
    topProducts: [{ id: "UHJvZHVjdDox", name: "Smartphone X12 手机", orders: 30, quantity: 31, gmv: money("9999.00") }],
    trafficSources: [{ source: "direct", visitors: 800 }, { source: "weibo", visitors: 434 }],
    csvUrl: "http://testserver/analytics/reports/signed-token.csv",
    ...overrides,
  };
}

type Answer = { analytics: unknown } | { errors: { message: string }[] };

/** A fetch stub answering each analytics query with `answer(variables)`; it records the variables. */
function serve(answer: (variables: Record<string, string>) => Answer) {
  const calls: Record<string, string>[] = [];
  const fetch = vi.fn(async (_url: string, init: RequestInit) => {
    const { variables } = JSON.parse(init.body as string);
    calls.push(variables);
    const body = answer(variables);
    return new Response(JSON.stringify("errors" in body ? body : { data: body }), { status: 200 });
  });
  vi.stubGlobal("fetch", fetch);
  return calls;
}

function show(language: Language = "en"): ReactNode {
  return <I18nProvider language={language}><AnalyticsPanel vendor="VmVuZG9yOjE=" today={TODAY} /></I18nProvider>;
}

const figure = (label: string) => screen.getByText(label, { selector: "dt" }).parentElement!.querySelector(".kpi-value")!.textContent;

it("shows the period's totals, the charts' series, the sources, the top products and the CSV link", async () => {
  const calls = serve(() => ({ analytics: report() }));
  render(show());
  await screen.findByText("Visitors", { selector: "dt" });
  expect(calls).toEqual([{ vendor: "VmVuZG9yOjE=", from: "2026-03-02", to: "2026-03-31", period: "DAY" }]);
  expect(figure("Visitors")).toBe("1,234");
  expect(figure("Views")).toBe("3,456");
  expect(figure("Orders")).toBe("50");
  expect(figure("GMV")).toBe("¥12,345.60");
  expect(figure("Conversion rate")).toBe("3.4%");
  expect(figure("Average order value")).toBe("¥246.91");
  expect(figure("Refund rate")).toBe("4%");
  expect(figure("Repurchase rate")).toBe("17.5%");
  expect(screen.getByText("42 of 1,234 visitors ordered")).toBeTruthy();
  expect(screen.getByText("¥399.00 refunded")).toBeTruthy();

  const sales = await screen.findByLabelText("GMV and orders over time");
  expect(JSON.parse(sales.dataset.labels!)).toEqual(["30 Mar", "31 Mar"]);
  expect(JSON.parse(sales.dataset.series!)).toEqual([["GMV", [5000, 7345.6]], ["Orders", [20, 30]]]);
  // A day without visitors has no conversion rate: a gap, not a zero.
  const traffic = screen.getByLabelText("Visitors and conversion rate over time");
  expect(JSON.parse(traffic.dataset.series!)).toEqual([["Visitors", [600, 634]], ["Conversion rate", [3, null]]]);
  expect(JSON.parse(screen.getByLabelText("Visitors by traffic source").dataset.labels!)).toEqual(["Direct", "weibo"]);
  expect(JSON.parse(screen.getByLabelText("Top products by GMV").dataset.series!)).toEqual([["GMV", [9999]]]);

  const sources = screen.getByRole("region", { name: "Traffic by source" });
  expect(within(sources).getAllByRole("row").map((row) => row.textContent)).toEqual(["SourceVisitors", "Direct800", "weibo434"]);
  const top = screen.getByRole("region", { name: "Top products" });
  expect(within(top).getAllByRole("row")[1].textContent).toBe("Smartphone X12 手机3031¥9,999.00");
  expect(screen.getByRole("link", { name: "Download CSV" }).getAttribute("href")).toBe("http://testserver/analytics/reports/signed-token.csv");
});

it("asks again for the chosen range and grain", async () => {
  const calls = serve((variables) => ({ analytics: report({ from: variables.from, period: variables.period }) }));
  const user = userEvent.setup();
  render(show());
  await screen.findByText("Visitors", { selector: "dt" });
  expect(screen.getByRole("button", { name: "Last 30 days" }).getAttribute("aria-pressed")).toBe("true");
  await user.click(screen.getByRole("button", { name: "Last 7 days" }));
  await waitFor(() => expect(calls).toHaveLength(2));
  expect(calls[1]).toMatchObject({ from: "2026-03-25", to: "2026-03-31", period: "DAY" });
  expect(screen.getByRole("button", { name: "Last 7 days" }).getAttribute("aria-pressed")).toBe("true");
  expect(screen.getByRole("button", { name: "Last 30 days" }).getAttribute("aria-pressed")).toBe("false");
  await screen.findByText("25 Mar 2026 to 31 Mar 2026");
  await user.click(screen.getByRole("button", { name: "Last 90 days" }));
  await user.click(screen.getByRole("button", { name: "By week" }));
  await waitFor(() => expect(calls).toHaveLength(4));
  expect(calls[3]).toMatchObject({ from: "2026-01-01", to: "2026-03-31", period: "WEEK" });
  await user.click(screen.getByRole("button", { name: "By month" }));
  await waitFor(() => expect(calls[calls.length - 1]).toMatchObject({ period: "MONTH" }));
  // Months are labelled as months.
  await waitFor(() => expect(JSON.parse(screen.getByLabelText("GMV and orders over time").dataset.labels!)).toEqual(["Mar 2026", "Mar 2026"]));
});

it("speaks Chinese", async () => {
  serve(() => ({ analytics: report() }));
  render(show("zh-Hans"));
  await screen.findByText("访客数", { selector: "dt" });
  expect(screen.getByRole("heading", { name: "店铺数据" })).toBeTruthy();
  for (const label of ["近 7 天", "近 30 天", "近 90 天", "按日", "按周", "按月"]) expect(screen.getByRole("button", { name: label })).toBeTruthy();
  expect(figure("成交额")).toBe("¥12,345.60");
  expect(figure("转化率")).toBe("3.4%");
  expect(figure("客单价")).toBe("¥246.91");
  expect(figure("退款率")).toBe("4%");
  expect(figure("复购率")).toBe("17.5%");
  expect(screen.getByText("2026年3月2日 至 2026年3月31日")).toBeTruthy();
  expect(screen.getByRole("region", { name: "流量来源" }).textContent).toContain("直接访问");
  expect(screen.getByRole("region", { name: "热销商品" })).toBeTruthy();
  expect(JSON.parse((await screen.findByLabelText("成交额与订单数走势")).dataset.labels!)).toEqual(["3月30日", "3月31日"]);
  expect(screen.getByRole("link", { name: "下载 CSV" })).toBeTruthy();
});

it("says there is no data yet when the store has no figure in the range", async () => {
  const zero = figures({ visitors: 0, productViews: 0, storeViews: 0, orderingVisitors: 0, conversionRate: null, orders: 0, gmv: money("0.00"), averageOrderValue: null, refunds: 0, refunded: money("0.00"), refundRate: null, shoppers: 0, returningShoppers: 0, repurchaseRate: null });
  serve(() => ({ analytics: report({ totals: zero, topProducts: [], trafficSources: [] }) }));
  render(show());
  await screen.findByText("No data yet. Figures appear here once shoppers visit your store and place orders.");
  expect(screen.queryByText("Visitors", { selector: "dt" })).toBeNull();
  expect(screen.queryByTestId("chart")).toBeNull();
});

it("shows an error with a retry, and says so when the figures are not the caller's", async () => {
  let fail = true;
  const calls = serve(() => (fail ? { errors: [{ message: "The server is busy." }] } : { analytics: report() }));
  const user = userEvent.setup();
  render(show());
  expect(screen.getByRole("status").textContent).toBe("Loading…");
  expect((await screen.findByRole("alert")).textContent).toBe("The figures could not be loaded: The server is busy.");
  fail = false;
  await user.click(screen.getByRole("button", { name: "Try again" }));
  await screen.findByText("Visitors", { selector: "dt" });
  expect(calls).toHaveLength(2);
  expect(screen.queryByRole("alert")).toBeNull();
});

it("says the figures are not available when the API answers none", async () => {
  serve(() => ({ analytics: null }));
  render(show());
  expect((await screen.findByRole("alert")).textContent).toBe("The figures of this store are not available to you.");
});

it("asks for a fresh CSV link when the page is older than the link's few minutes", async () => {
  let minted = 0;
  const calls = serve(() => ({ analytics: report({ csvUrl: `http://testserver/analytics/reports/token-${++minted}.csv` }) }));
  const opened = vi.spyOn(navigation, "assign").mockImplementation(() => undefined);
  const user = userEvent.setup();
  render(show());
  const link = await screen.findByRole("link", { name: "Download CSV" });
  expect(link.getAttribute("href")).toBe("http://testserver/analytics/reports/token-1.csv");
  const now = Date.now();
  const clock = vi.spyOn(Date, "now").mockReturnValue(now + 6 * 60 * 1000);
  await user.click(link);
  await waitFor(() => expect(opened).toHaveBeenCalledWith("http://testserver/analytics/reports/token-2.csv"));
  expect(calls).toHaveLength(2);
  clock.mockRestore();
  opened.mockRestore();
});
