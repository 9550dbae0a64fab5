import { useState } from "react";
import { Link } from "react-router-dom";
import { HomeDocument, PayEntryFeeDocument, TopUpDepositDocument } from "../gql/graphql";
import { useVendorId } from "../lib/auth";
import { request } from "../lib/client";
import { hoursLeft } from "../lib/format";
import { useI18n } from "../lib/i18n";
import { useQuery } from "../lib/useQuery";
import { AnalyticsPanel } from "../components/AnalyticsPanel";
import { Empty, ErrorBanner, Loading, Money, Notice, PageTitle, Status, When } from "../components/ui";

export function HomePage() {
  const vendor = useVendorId()!;
  const { t } = useI18n();
  const { data, error, loading, reload } = useQuery(HomeDocument, { vendor });
  const [paying, setPaying] = useState<string | null>(null);
  const [payError, setPayError] = useState<string | null>(null);
  const [paid, setPaid] = useState<string | null>(null);
  if (loading && !data) return <Loading />;
  if (!data) return <ErrorBanner error={error} />;
  const store = data.vendor;
  const standing = store?.standing;

  const pay = async (what: "fee" | "deposit") => {
    setPaying(what);
    setPayError(null);
    try {
      // One key per click: a retried request (double click, lost answer) pays once.
      const idempotencyKey = `console-${what}-${crypto.randomUUID?.() ?? Date.now()}`;
      const answer = what === "fee"
        ? (await request(PayEntryFeeDocument, { vendor, idempotencyKey })).vendorEntryFeePay
        : (await request(TopUpDepositDocument, { vendor, idempotencyKey })).vendorDepositTopUp;
      if (answer?.errors.length) setPayError(answer.errors.map((e) => e.message).join(" "));
      else setPaid(what === "fee" ? t("Entry fee paid.") : t("Deposit paid."));
      await reload();
    } catch (caught) {
      setPayError((caught as Error).message);
    } finally {
      setPaying(null);
    }
  };

  const feeOutstanding = standing && Number(standing.feeOutstanding.amount) > 0;
  const depositShort = standing && Number(standing.depositShortfall.amount) > 0;

  return (
    <>
      <PageTitle>{t("Home")}</PageTitle>
      <ErrorBanner error={error} />
      {paid && <Notice>{paid}</Notice>}
      <section className="cards">
        <article className="card" aria-labelledby="standing-title">
          <h2 id="standing-title">{t("Store standing")}</h2>
          <p>{t("Status")}: <Status value={store?.status} /></p>
          {store?.statusReason && <p>{store.statusReason}</p>}
          {standing && (
            <dl className="pairs">
              <dt>{t("Entry fee")}</dt>
              <dd><Money value={standing.feePaid} /> / <Money value={standing.feeOwed} />{standing.feeYearEnd && <> · {t("until")} <When value={standing.feeYearEnd} /></>}</dd>
              <dt>{t("Deposit")}</dt>
              <dd><Money value={store?.balance?.deposit} /> / <Money value={store?.balance?.depositRequired} /></dd>
              {depositShort && <><dt>{t("Shortfall")}</dt><dd className="warning"><Money value={standing.depositShortfall} /></dd></>}
              {standing.topUpDeadline && <><dt>{t("Top up by")}</dt><dd className="warning"><When value={standing.topUpDeadline} /></dd></>}
            </dl>
          )}
          {standing?.restrictionReasons.map((reason) => <p key={reason} className="warning">{reason}</p>)}
          <ErrorBanner error={payError} />
          <div className="actions">
            {feeOutstanding && <button type="button" className="primary" disabled={paying !== null} onClick={() => pay("fee")}>{t("Pay the entry fee")} <Money value={standing!.feeOutstanding} /></button>}
            {depositShort && <button type="button" className="primary" disabled={paying !== null} onClick={() => pay("deposit")}>{t("Pay the deposit")} <Money value={standing!.depositShortfall} /></button>}
          </div>
        </article>
        <article className="card" aria-labelledby="balance-title">
          <h2 id="balance-title">{t("Balance")}</h2>
          <dl className="pairs">
            <dt>{t("Pending (in escrow)")}</dt><dd><Money value={store?.balance?.pending} /></dd>
            <dt>{t("Available")}</dt><dd><Money value={store?.balance?.available} /></dd>
          </dl>
          <Link to="/money">{t("Ledger, statements and payouts")}</Link>
        </article>
      </section>
      <section className="cards">
        <article className="card" aria-labelledby="ship-title">
          <h2 id="ship-title">{t("Orders to ship")} <span className="count">{data.toShip?.totalCount ?? 0}</span></h2>
          {data.toShip?.edges.length ? (
            <ul className="plain">
              {data.toShip.edges.map((edge) => edge?.node && (
                <li key={edge.node.id}><Link to={`/orders/${edge.node.id}`}>{edge.node.number}</Link> · <When value={edge.node.createdAt} /> · <Money value={edge.node.total} /></li>
              ))}
            </ul>
          ) : <Empty title={t("Nothing to ship. Paid orders appear here.")} />}
          <Link to="/orders?status=PAID">{t("All orders to ship")}</Link>
        </article>
        <article className="card" aria-labelledby="disputes-title">
          <h2 id="disputes-title">{t("Disputes waiting for your answer")} <span className="count">{data.waitingDisputes?.totalCount ?? 0}</span></h2>
          {data.waitingDisputes?.edges.length ? (
            <ul className="plain">
              {data.waitingDisputes.edges.map((edge) => edge?.node && (
                <li key={edge.node.id}>
                  <Link to={`/disputes/${edge.node.id}`}>{edge.node.order.number}</Link> · {t(`reason.${edge.node.reason}`)} · <Money value={edge.node.requested} />
                  {edge.node.deadlineAt && <> · <span className={hoursLeft(edge.node.deadlineAt) < 24 ? "warning" : ""}>{t("answer by")} <When value={edge.node.deadlineAt} /></span></>}
                </li>
              ))}
            </ul>
          ) : <Empty title={t("No dispute is waiting for you.")} />}
        </article>
        <article className="card" aria-labelledby="listings-title">
          <h2 id="listings-title">{t("Listings")}</h2>
          <p><Link to="/products?status=PENDING_REVIEW">{t("{count} waiting for review", { count: data.pendingListings?.totalCount ?? 0 })}</Link></p>
          <p><Link to="/products?status=REJECTED">{t("{count} rejected", { count: data.rejectedListings?.totalCount ?? 0 })}</Link></p>
          <ul className="plain">
            {data.rejectedListings?.edges.map((edge) => edge?.node && (
              <li key={edge.node.id}><Link to={`/products/${edge.node.id}`}>{edge.node.name}</Link>{edge.node.statusReason && <>: {edge.node.statusReason}</>}</li>
            ))}
          </ul>
        </article>
      </section>
      <AnalyticsPanel vendor={vendor} />
    </>
  );
}
