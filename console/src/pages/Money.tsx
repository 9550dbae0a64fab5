import { useState, type FormEvent } from "react";
import { MoneyDocument, PayoutCreateDocument, StatementDocument } from "../gql/graphql";
import { useVendorId } from "../lib/auth";
import { byField, request } from "../lib/client";
import { formatDate } from "../lib/format";
import { useI18n } from "../lib/i18n";
import { useQuery } from "../lib/useQuery";
import { Empty, ErrorBanner, Loading, Money, Notice, PageTitle, Pager, Select, Status, TextField, When } from "../components/ui";

export function MoneyPage() {
  const vendor = useVendorId()!;
  const { t, language } = useI18n();
  const thisYear = new Date().getFullYear();
  const [year, setYear] = useState(thisYear);
  const [cursors, setCursors] = useState<string[]>([]);
  const { data, error, loading, reload } = useQuery(MoneyDocument, { vendor, first: 20, after: cursors[cursors.length - 1], year });
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [range, setRange] = useState<{ from: string; to: string } | null>(null);
  const statement = useQuery(StatementDocument, { vendor, from: range?.from ?? "", to: range?.to ?? "" }, !range);
  const [amount, setAmount] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [payoutKey, setPayoutKey] = useState(() => `console-payout-${crypto.randomUUID?.() ?? Date.now()}`);
  if (loading && !data) return <Loading />;
  const store = data?.vendor;
  if (!store) return <ErrorBanner error={error ?? t("Only the store's staff see its money.")} />;

  const payout = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setDone(null);
    try {
      const answer = (await request(PayoutCreateDocument, { vendor, amount: amount.trim() || undefined, idempotencyKey: payoutKey })).payoutCreate;
      setErrors(byField(answer?.errors));
      if (!answer?.errors.length) {
        setDone(t("Payout requested."));
        setAmount("");
        setPayoutKey(`console-payout-${crypto.randomUUID?.() ?? Date.now()}`);
        await reload();
      }
    } catch (caught) {
      setErrors({ "": (caught as Error).message });
    } finally {
      setBusy(false);
    }
  };
  const ledger = store.ledger;

  return (
    <>
      <PageTitle>{t("Money")}</PageTitle>
      {done && <Notice>{done}</Notice>}
      <ErrorBanner error={error ?? errors[""]} />
      <section className="cards">
        <article className="card">
          <h2>{t("Balance")}</h2>
          <dl className="pairs">
            <dt>{t("Pending (in escrow)")}</dt><dd><Money value={store.balance?.pending} /></dd>
            <dt>{t("Available")}</dt><dd><Money value={store.balance?.available} /></dd>
            <dt>{t("Deposit")}</dt><dd><Money value={store.balance?.deposit} /> / <Money value={store.balance?.depositRequired} /></dd>
          </dl>
        </article>
        <form className="card" onSubmit={payout}>
          <h2>{t("Pay out")}</h2>
          <TextField label={t("Amount (empty: all available)")} inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} error={errors.amount} />
          <button type="submit" className="primary" disabled={busy}>{t("Request payout")}</button>
        </form>
      </section>
      <section className="card" aria-labelledby="statements-title">
        <h2 id="statements-title">{t("Statements")}</h2>
        <Select label={t("Year")} value={String(year)} onChange={(e) => setYear(Number(e.target.value))}>
          {[thisYear, thisYear - 1, thisYear - 2].map((y) => <option key={y} value={y}>{y}</option>)}
        </Select>
        {store.statements?.length ? (
          <div className="table-wrap">
            <table>
              <thead><tr><th scope="col">{t("Period")}</th><th scope="col">{t("Opening balance")}</th><th scope="col">{t("Closing balance")}</th><th scope="col">{t("Download")}</th></tr></thead>
              <tbody>
                {store.statements.map((s) => (
                  <tr key={s.from}>
                    <td>{formatDate(s.from, language)} – {formatDate(s.to, language)}</td>
                    <td><Money value={s.openingBalance} /></td>
                    <td><Money value={s.closingBalance} /></td>
                    <td><a href={s.csvUrl} download>CSV</a> · <a href={s.pdfUrl} download>PDF</a></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : <Empty title={t("No statements for this year yet.")} />}
        <form className="filters" onSubmit={(e) => { e.preventDefault(); if (from && to) setRange({ from, to }); }}>
          <TextField label={t("From")} type="date" value={from} onChange={(e) => setFrom(e.target.value)} />
          <TextField label={t("To")} type="date" value={to} onChange={(e) => setTo(e.target.value)} />
          <button type="submit">{t("Statement for these days")}</button>
        </form>
        <ErrorBanner error={statement.error} />
        {range && statement.data?.vendorStatement && (
          <div className="statement">
            <p>{t("Opening balance")} <Money value={statement.data.vendorStatement.openingBalance} /> → {t("Closing balance")} <Money value={statement.data.vendorStatement.closingBalance} /></p>
            <ul className="plain">{statement.data.vendorStatement.lines.map((line) => <li key={line.kind}>{line.label}: <Money value={line.balance} /></li>)}</ul>
            <p><a href={statement.data.vendorStatement.csvUrl} download>{t("Download CSV")}</a> · <a href={statement.data.vendorStatement.pdfUrl} download>{t("Download PDF")}</a></p>
          </div>
        )}
      </section>
      <section className="card" aria-labelledby="payouts-title">
        <h2 id="payouts-title">{t("Payouts")}</h2>
        {data?.payouts?.edges.length ? (
          <ul className="plain">
            {data.payouts.edges.map((edge) => edge?.node && (
              <li key={edge.node.id}><When value={edge.node.createdAt} /> · <Money value={edge.node.amount} /> · <Status value={edge.node.status} />{edge.node.errorMessage && <> · {edge.node.errorMessage}</>}</li>
            ))}
          </ul>
        ) : <Empty title={t("No payouts yet. Released sales become available and can be paid out.")} />}
      </section>
      <section className="card" aria-labelledby="ledger-title">
        <h2 id="ledger-title">{t("Ledger")}</h2>
        {ledger && ledger.edges.length ? (
          <>
            <div className="table-wrap">
              <table>
                <thead><tr><th scope="col">{t("When")}</th><th scope="col">{t("Account")}</th><th scope="col">{t("Kind")}</th><th scope="col">{t("Description")}</th><th scope="col" className="num">{t("Amount")}</th></tr></thead>
                <tbody>
                  {ledger.edges.map((edge) => edge?.node && (
                    <tr key={edge.node.id}>
                      <td><When value={edge.node.createdAt} /></td>
                      <td>{t(`account.${edge.node.accountKind}`)}</td>
                      <td>{t(`txn.${edge.node.transaction.kind}`)}</td>
                      <td>{edge.node.transaction.description}</td>
                      <td className="num"><Money value={edge.node.amount} /></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pager hasNext={ledger.pageInfo.hasNextPage} isFirst={cursors.length === 0} onFirst={() => setCursors([])} onNext={() => ledger.pageInfo.endCursor && setCursors([...cursors, ledger.pageInfo.endCursor])} />
          </>
        ) : <Empty title={t("No ledger entries yet.")} />}
      </section>
    </>
  );
}
