import { Empty, PageTitle } from "../components/ui";
import { useI18n } from "../lib/i18n";

export function NotFoundPage({ what }: { what?: string }) {
  const { t } = useI18n();
  return (
    <>
      <PageTitle>{t("Not found")}</PageTitle>
      <Empty title={what ?? t("There is nothing here, or it belongs to another store.")} action={{ to: "/", label: t("Back to the home page") }} />
    </>
  );
}
