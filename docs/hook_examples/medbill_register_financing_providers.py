"""Register a patient financing lender; the installation names it in ``medbill.toml``
(``[medbill] financing_provider = "acmecredit"``). The core refers, takes the decision from a
poll or the lender's callback, and posts an approval once as the lender's payment."""

from medbill_core.api import (
    FinancingDecision,
    FinancingProvider,
    FinancingRequest,
    FinancingStatus,
    hookimpl,
)


class AcmeCredit(FinancingProvider):
    identifier = "acmecredit"
    verbose_name = "Acme health care credit"

    def refer(self, request: FinancingRequest) -> FinancingDecision:
        # the lender's API call goes here: the applicant's name and agreed contact, the
        # amount and our reference; the applicant then applies at the lender
        return FinancingDecision(application_id=f"acme_{request.reference}",
                                 status=FinancingStatus.PENDING, lender_name="Acme Credit")

    def check_application(self, application_id: str) -> FinancingDecision:
        # ask the lender; an approval carries the amount it will pay the practice
        return FinancingDecision(application_id=application_id,
                                 status=FinancingStatus.PENDING, lender_name="Acme Credit")


@hookimpl
def medbill_register_financing_providers(context):
    return [AcmeCredit()]
