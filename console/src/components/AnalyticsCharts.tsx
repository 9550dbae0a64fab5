// The store analytics panel's charts (Chart.js on canvas, only the parts used are registered). Loaded
// on its own (React.lazy) so that the console's other pages do not carry the chart library. Each
// chart names what it shows for screen readers; the figures themselves are also on the page as text.
import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart as ChartJS,
  DoughnutController,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartData,
  type ChartOptions,
} from "chart.js";
import { Bar, Chart, Doughnut } from "react-chartjs-2";
import type { StoreAnalyticsQuery } from "../gql/graphql";
import { chartAmount, chartPercent, formatCount, formatPercent, periodLabel, sourceName, type Period } from "../lib/analytics";
import { formatMoney } from "../lib/format";
import { useI18n } from "../lib/i18n";

ChartJS.register(ArcElement, BarController, BarElement, CategoryScale, DoughnutController, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip);
ChartJS.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif';
ChartJS.defaults.color = "#57606a";

const BLUE = "#0b57d0";
const ORANGE = "#e8710a";
const PALETTE = [BLUE, ORANGE, "#1a7f37", "#8250df", "#bf3989", "#0a7a8a", "#9a6700", "#57606a"];

type Report = NonNullable<StoreAnalyticsQuery["analytics"]>;

// Fixed size and no animation: the same picture every time (screenshots), nothing moving under the pointer.
const BASE = { responsive: true, maintainAspectRatio: false, animation: false, interaction: { mode: "index", intersect: false } } as const;

export function TrendCharts({ report, period }: { report: Report; period: Period }) {
  const { t, language } = useI18n();
  const currency = report.totals.gmv.currency;
  const labels = report.periods.map((p) => periodLabel(p.date, period, language));
  const money = (value: number) => formatMoney({ amount: value.toFixed(2), currency }, language);

  const sales: ChartData<"bar" | "line", number[]> = {
    labels,
    datasets: [
      { type: "bar", label: t("GMV"), data: report.periods.map((p) => chartAmount(p.gmv.amount)), backgroundColor: BLUE, yAxisID: "money", order: 2 },
      { type: "line", label: t("Orders"), data: report.periods.map((p) => p.orders), borderColor: ORANGE, backgroundColor: ORANGE, yAxisID: "count", order: 1, tension: 0, pointRadius: 2 },
    ],
  };
  const salesOptions: ChartOptions<"bar" | "line"> = {
    ...BASE,
    scales: {
      money: { type: "linear", position: "left", beginAtZero: true, ticks: { callback: (value) => money(Number(value)) } },
      count: { type: "linear", position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, ticks: { precision: 0 } },
    },
    plugins: {
      tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${item.dataset.yAxisID === "money" ? money(item.parsed.y ?? 0) : formatCount(item.parsed.y ?? 0, language)}` } },
    },
  };

  const traffic: ChartData<"bar" | "line", (number | null)[]> = {
    labels,
    datasets: [
      { type: "bar", label: t("Visitors"), data: report.periods.map((p) => p.visitors), backgroundColor: "#8fb3ec", yAxisID: "count", order: 2 },
      { type: "line", label: t("Conversion rate"), data: report.periods.map((p) => chartPercent(p.conversionRate)), borderColor: "#1a7f37", backgroundColor: "#1a7f37", yAxisID: "rate", order: 1, spanGaps: true, tension: 0, pointRadius: 2 },
    ],
  };
  const trafficOptions: ChartOptions<"bar" | "line"> = {
    ...BASE,
    scales: {
      count: { type: "linear", position: "left", beginAtZero: true, ticks: { precision: 0 } },
      rate: { type: "linear", position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, ticks: { callback: (value) => formatPercent(String(Number(value) / 100), language) } },
    },
    plugins: {
      tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${item.dataset.yAxisID === "rate" ? formatPercent(item.parsed.y === null ? null : String(item.parsed.y / 100), language) : formatCount(item.parsed.y ?? 0, language)}` } },
    },
  };

  return (
    <div className="chart-grid">
      <figure className="chart-figure">
        <figcaption>{t("GMV and orders")}</figcaption>
        <div className="chart">
          <Chart type="bar" data={sales as ChartData<"bar", number[]>} options={salesOptions as ChartOptions<"bar">} role="img" aria-label={t("GMV and orders over time")} />
        </div>
      </figure>
      <figure className="chart-figure">
        <figcaption>{t("Visitors and conversion")}</figcaption>
        <div className="chart">
          <Chart type="bar" data={traffic as ChartData<"bar", number[]>} options={trafficOptions as ChartOptions<"bar">} role="img" aria-label={t("Visitors and conversion rate over time")} />
        </div>
      </figure>
    </div>
  );
}

export function SourcesChart({ sources }: { sources: Report["trafficSources"] }) {
  const { t, language } = useI18n();
  const data: ChartData<"doughnut", number[]> = {
    labels: sources.map((s) => sourceName(s.source, t)),
    datasets: [{ data: sources.map((s) => s.visitors), backgroundColor: sources.map((_, index) => PALETTE[index % PALETTE.length]), borderWidth: 1 }],
  };
  const options: ChartOptions<"doughnut"> = {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    plugins: { legend: { position: "right" }, tooltip: { callbacks: { label: (item) => `${item.label}: ${formatCount(Number(item.raw), language)}` } } },
  };
  return (
    <div className="chart chart-small">
      <Doughnut data={data} options={options} role="img" aria-label={t("Visitors by traffic source")} />
    </div>
  );
}

export function ProductsChart({ products }: { products: Report["topProducts"] }) {
  const { t, language } = useI18n();
  const currency = products[0]?.gmv.currency ?? "CNY";
  const money = (value: number) => formatMoney({ amount: value.toFixed(2), currency }, language);
  const data: ChartData<"bar", number[]> = {
    labels: products.map((p) => (p.name.length > 28 ? `${p.name.slice(0, 27)}…` : p.name)),
    datasets: [{ label: t("GMV"), data: products.map((p) => chartAmount(p.gmv.amount)), backgroundColor: BLUE }],
  };
  const options: ChartOptions<"bar"> = {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    indexAxis: "y",
    scales: { x: { beginAtZero: true, ticks: { callback: (value) => money(Number(value)) } } },
    plugins: { legend: { display: false }, tooltip: { callbacks: { label: (item) => money(item.parsed.x ?? 0) } } },
  };
  return (
    <div className="chart chart-small">
      <Bar data={data} options={options} role="img" aria-label={t("Top products by GMV")} />
    </div>
  );
}
