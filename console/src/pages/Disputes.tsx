import { useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { DisputeListDocument, type DisputeStatus } from "../gql/graphql";
import { useVendorId } from "../lib/auth";
import { hoursLeft } from "../lib/format";
import { useI18n } from "../lib/i18n";
import { useQuery } from "../lib/useQuery";
import { Empty, ErrorBanner, Loading, Money, PageTitle, Pager, Select, Status, When } from "../components/ui";

const STATUSES: DisputeStatus[] = ["AWAITING_VENDOR", "AWAITING_BUYER", "UNDER_ARBITRATION", "AWAITING_RETURN", "RETURN_SHIPPED", "RESOLVED", "CLOSED"];

export function Deadline({ value }: { value: string | null | undefined }) {
  const { t } = useI18n();
  if (!value) return <span>—</span>;
  const hours = hoursLeft(value);
  return (
    <span className={hours < 24 ? "warning" : ""}>
      <When value={value} /> ({hours < 0 ? t("passed") : hours < 48 ? t("{hours} h left", { hours }) : t("{days} days left", { days: Math.floor(hours / 24) })})
    </span>
  );
}

export function DisputesPage() {
  const vendor = useVendorId();
  const { t } = useI18n();
  const [params, setParams] = useSearchParams();
  const status = (params.get("status") || "") as DisputeStatus | "";
  const [cursors, setCursors] = useState<string[]>([]);
  const { data, error, loading } = useQuery(DisputeListDocument, { first: 20, after: cursors[cursors.length - 1], filter: { vendor, status: status || undefined } });
  const disputes = data?.disputes;
  return (
    <>
      <PageTitle>{t("Disputes")}</PageTitle>
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <Select label={t("Status")} value={status} onChange={(e) => { setParams(e.target.value ? { status: e.target.value } : {}, { replace: true }); setCursors([]); }}>
          <option value="">{t("All")}</option>
          {STATUSES.map((s) => <option key={s} value={s}>{t(`status.${s}`)}</option>)}
        </Select>
      </form>
      <ErrorBanner error={error} />
      {loading && !data ? <Loading /> : disputes && disputes.edges.length === 0 ? (
        <Empty title={status ? t("No dispute in this state.") : t("No disputes. When a shopper opens one, it appears here with its deadline.")} />
      ) : disputes && (
        <>
          <div className="table-wrap">
            <table>
              <thead><tr><th scope="col">{t("Order")}</th><th scope="col">{t("Reason")}</th><th scope="col">{t("Requested")}</th><th scope="col">{t("Status")}</th><th scope="col">{t("Deadline")}</th><th scope="col">{t("Opened")}</th></tr></thead>
              <tbody>
                {disputes.edges.map((edge) => edge?.node && (
                  <tr key={edge.node.id}>
                    <td><Link to={`/disputes/${edge.node.id}`}>{edge.node.order.number}</Link></td>
                    <td>{t(`reason.${edge.node.reason}`)} · {t(`kind.${edge.node.kind}`)}</td>
                    <td><Money value={edge.node.requested} /></td>
                    <td><Status value={edge.node.status} /></td>
                    <td><Deadline value={edge.node.deadlineAt} /></td>
                    <td><When value={edge.node.createdAt} /></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager hasNext={disputes.pageInfo.hasNextPage} isFirst={cursors.length === 0} onFirst={() => setCursors([])} onNext={() => disputes.pageInfo.endCursor && setCursors([...cursors, disputes.pageInfo.endCursor])} />
        </>
      )}
    </>
  );
}
