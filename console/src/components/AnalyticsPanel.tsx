// The home page's store analytics: the core API's `analytics` query for the signed-in store over the
// last 7, 30 or 90 days, by day, week or month. Headline figures as text, trends and breakdowns as
// charts (loaded on their own), and the API's signed CSV of the same periods.
import { lazy, Suspense, useMemo, useState, type MouseEvent } from "react";
import { StoreAnalyticsDocument, type StoreAnalyticsQuery } from "../gql/graphql";
import { formatCount, formatPercent, lastDays, navigation, PERIODS, RANGES, sourceName, type Period, type RangeDays } from "../lib/analytics";
import { request } from "../lib/client";
import { formatDate, formatMoney } from "../lib/format";
import { useI18n } from "../lib/i18n";
import { useQuery } from "../lib/useQuery";
import { Empty, ErrorBanner, Loading } from "./ui";

const TrendCharts = lazy(() => import("./AnalyticsCharts").then((module) => ({ default: module.TrendCharts })));
const SourcesChart = lazy(() => import("./AnalyticsCharts").then((module) => ({ default: module.SourcesChart })));
const ProductsChart = lazy(() => import("./AnalyticsCharts").then((module) => ({ default: module.ProductsChart })));

type Report = NonNullable<StoreAnalyticsQuery["analytics"]>;

// The CSV link is signed for a few minutes (ANALYTICS_LINK_MAX_AGE, 15 by default): an older page
// asks for a fresh one when it is clicked.
const LINK_FRESH_MS = 5 * 60 * 1000;

function hasFigures(report: Report): boolean {
  const totals = report.totals;
  return totals.visitors + totals.productViews + totals.storeViews + totals.orders + totals.refunds > 0;
}

function Figure({ label, value, note }: { label: string; value: string; note?: string }) {
  return (
    <div className="kpi">
      <dt>{label}</dt>
      <dd>
        <span className="kpi-value">{value}</span>
        {note && <span className="kpi-note">{note}</span>}
      </dd>
    </div>
  );
}

function Toggle<T extends string | number>({ label, options, value, onChange, name }: { label: string; options: readonly T[]; value: T; onChange: (value: T) => void; name: (value: T) => string }) {
  return (
    <div className="segmented" role="group" aria-label={label}>
      {options.map((option) => (
        <button key={option} type="button" aria-pressed={option === value} className={option === value ? "selected" : undefined} onClick={() => onChange(option)}>
          {name(option)}
        </button>
      ))}
    </div>
  );
}

export function AnalyticsPanel({ vendor, today }: { vendor: string; today?: Date }) {
  const { t, language } = useI18n();
  const [days, setDays] = useState<RangeDays>(30);
  const [period, setPeriod] = useState<Period>("DAY");
  const range = lastDays(days, today);
  const variables = { vendor, ...range, period };
  const { data, error, loading, reload } = useQuery(StoreAnalyticsDocument, variables);
  const report = data?.analytics;
  const fetchedAt = useMemo(() => Date.now(), [data]);
  const [linkError, setLinkError] = useState<string | null>(null);
  const download = async (event: MouseEvent<HTMLAnchorElement>) => {
    setLinkError(null);
    if (Date.now() - fetchedAt < LINK_FRESH_MS) return;
    event.preventDefault();
    try {
      const fresh = (await request(StoreAnalyticsDocument, variables)).analytics?.csvUrl;
      if (fresh) navigation.assign(fresh);
    } catch (caught) {
      setLinkError((caught as Error).message);
    }
  };
  const money = (value: Parameters<typeof formatMoney>[0]) => formatMoney(value, language);
  const periodNames: Record<Period, string> = { DAY: t("By day"), WEEK: t("By week"), MONTH: t("By month") };

  let body;
  if (loading && !data) body = <Loading />;
  else if (error && !data) {
    body = (
      <div className="analytics-error">
        <ErrorBanner error={t("The figures could not be loaded: {message}", { message: error.message })} />
        <button type="button" onClick={() => void reload()}>{t("Try again")}</button>
      </div>
    );
  } else if (!report) body = <ErrorBanner error={t("The figures of this store are not available to you.")} />;
  else if (!hasFigures(report)) body = <Empty title={t("No data yet. Figures appear here once shoppers visit your store and place orders.")} />;
  else {
    const totals = report.totals;
    body = (
      <>
        <dl className="kpis" aria-label={t("Totals for the period")}>
          <Figure label={t("Visitors")} value={formatCount(totals.visitors, language)} />
          <Figure label={t("Views")} value={formatCount(totals.productViews + totals.storeViews, language)} note={t("{products} product, {store} store page", { products: formatCount(totals.productViews, language), store: formatCount(totals.storeViews, language) })} />
          <Figure label={t("Orders")} value={formatCount(totals.orders, language)} />
          <Figure label={t("GMV")} value={money(totals.gmv)} />
          <Figure label={t("Conversion rate")} value={formatPercent(totals.conversionRate, language)} note={t("{ordering} of {visitors} visitors ordered", { ordering: formatCount(totals.orderingVisitors, language), visitors: formatCount(totals.visitors, language) })} />
          <Figure label={t("Average order value")} value={money(totals.averageOrderValue)} />
          <Figure label={t("Refund rate")} value={formatPercent(totals.refundRate, language)} note={t("{money} refunded", { money: money(totals.refunded) })} />
          <Figure label={t("Repurchase rate")} value={formatPercent(totals.repurchaseRate, language)} note={t("{returning} of {shoppers} shoppers came back", { returning: formatCount(totals.returningShoppers, language), shoppers: formatCount(totals.shoppers, language) })} />
        </dl>
        <Suspense fallback={<Loading />}>
          <TrendCharts report={report} period={period} />
        </Suspense>
        <div className="chart-grid">
          <section className="chart-figure" aria-labelledby="sources-title">
            <h3 id="sources-title">{t("Traffic by source")}</h3>
            {report.trafficSources.length ? (
              <>
                <Suspense fallback={<Loading />}><SourcesChart sources={report.trafficSources} /></Suspense>
                <table className="compact">
                  <thead><tr><th scope="col">{t("Source")}</th><th scope="col" className="num">{t("Visitors")}</th></tr></thead>
                  <tbody>
                    {report.trafficSources.map((source) => (
                      <tr key={source.source}><td>{sourceName(source.source, t)}</td><td className="num">{formatCount(source.visitors, language)}</td></tr>
                    ))}
                  </tbody>
                </table>
              </>
            ) : <Empty title={t("No visits in this period.")} />}
          </section>
          <section className="chart-figure" aria-labelledby="top-title">
            <h3 id="top-title">{t("Top products")}</h3>
            {report.topProducts.length ? (
              <>
                <Suspense fallback={<Loading />}><ProductsChart products={report.topProducts} /></Suspense>
                <table className="compact">
                  <thead><tr><th scope="col">{t("Product")}</th><th scope="col" className="num">{t("Orders")}</th><th scope="col" className="num">{t("Quantity")}</th><th scope="col" className="num">{t("GMV")}</th></tr></thead>
                  <tbody>
                    {report.topProducts.map((product) => (
                      <tr key={product.id ?? product.name}>
                        <td>{product.name}</td>
                        <td className="num">{formatCount(product.orders, language)}</td>
                        <td className="num">{formatCount(product.quantity, language)}</td>
                        <td className="num">{money(product.gmv)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </>
            ) : <Empty title={t("No sales in this period.")} />}
          </section>
        </div>
      </>
    );
  }

  return (
    <section className="card analytics" aria-labelledby="analytics-title" aria-busy={loading}>
      <div className="analytics-head">
        <div>
          <h2 id="analytics-title">{t("Store analytics")}</h2>
          <p className="hint">{t("{from} to {to}", { from: formatDate(range.from, language), to: formatDate(range.to, language) })}</p>
        </div>
        <div className="actions">
          <Toggle label={t("Range")} options={RANGES} value={days} onChange={setDays} name={(value) => t("Last {days} days", { days: value })} />
          <Toggle label={t("Grain")} options={PERIODS} value={period} onChange={setPeriod} name={(value) => periodNames[value]} />
          {report?.csvUrl && <a className="button" href={report.csvUrl} download onClick={(event) => void download(event)}>{t("Download CSV")}</a>}
        </div>
      </div>
      <ErrorBanner error={linkError} />
      {report && error && <ErrorBanner error={t("The figures could not be loaded: {message}", { message: error.message })} />}
      {body}
    </section>
  );
}
