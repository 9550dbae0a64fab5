"""POST /webhooks/payments/<gateway_id>/: the gateway tells us what happened."""

import logging

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from backend.core.exceptions import DomainError
from plugins.manager import get_plugins_manager
from plugins.payments.interface import WebhookVerificationError

from .error_codes import PaymentErrorCode
from .services import payment_webhook_handle

logger = logging.getLogger(__name__)


def _answer(request, gateway_id: str, result, default: JsonResponse):
    """The answer the gateway expects (Alipay: the text "success"), from its plugin's webhook_response."""
    answer = get_plugins_manager(request).run_plugin_hook(gateway_id, "webhook_response", None, result)
    if not answer:
        return default
    status, content_type, body = answer
    return HttpResponse(body, status=status, content_type=content_type or "application/json")


# The gateway authenticates by signing the body, not by cookie, so CSRF does not apply.
@csrf_exempt
@require_POST
def payment_webhook(request, gateway_id: str):
    try:
        result = payment_webhook_handle(gateway_id=gateway_id, request=request)
    except WebhookVerificationError as exc:
        logger.warning("payment webhook for %s refused: %s", gateway_id, exc)
        return _answer(request, gateway_id, None, JsonResponse({"error": "invalid webhook"}, status=400))
    except DomainError as exc:
        if exc.code == PaymentErrorCode.GATEWAY_NOT_AVAILABLE:
            return JsonResponse({"error": "unknown gateway"}, status=404)
        # A well-signed event we cannot apply: answer 200 would drop it, 500 makes the gateway retry.
        logger.exception("payment webhook for %s failed", gateway_id)
        return JsonResponse({"error": exc.message}, status=500)
    return _answer(
        request, gateway_id, result, JsonResponse({"applied": result.applied, "duplicates": result.duplicates})
    )
