"""POST /webhooks/payments/<gateway_id>/: the gateway tells us what happened.

The answer's body is the one the gateway's plugin asks for (webhook_response): Alipay wants
the plain text "success", WeChat Pay a JSON body; by default JSON.
"""

import logging

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from backend.core.exceptions import DomainError, DomainErrors
from plugins.payments.interface import WebhookVerificationError

from .error_codes import PaymentErrorCode
from .services import payment_webhook_handle, webhook_answer

logger = logging.getLogger(__name__)


# The gateway authenticates by signing the body, not by cookie, so CSRF does not apply.
@csrf_exempt
@require_POST
def payment_webhook(request, gateway_id: str):
    try:
        result = payment_webhook_handle(gateway_id=gateway_id, request=request)
    except WebhookVerificationError as exc:
        logger.warning("payment webhook for %s refused: %s", gateway_id, exc)
        status, content_type, body = webhook_answer(gateway_id=gateway_id, result=None)
        return HttpResponse(body, status=400 if status < 400 else status, content_type=content_type)
    except DomainError as exc:
        if exc.code == PaymentErrorCode.GATEWAY_NOT_AVAILABLE:
            return JsonResponse({"error": "unknown gateway"}, status=404)
        # A well-signed event we cannot apply (or a gateway that did not answer while we checked it):
        # answering 200 would drop it, 500 makes the gateway send it again. No exception text goes out.
        logger.exception("payment webhook for %s failed", gateway_id)
        return JsonResponse({"error": "not applied; send it again"}, status=500)
    except DomainErrors:
        logger.exception("payment webhook for %s failed", gateway_id)
        return JsonResponse({"error": "not applied; send it again"}, status=500)
    status, content_type, body = webhook_answer(gateway_id=gateway_id, result=result)
    return HttpResponse(body, status=status, content_type=content_type)
