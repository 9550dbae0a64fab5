"""Carrier webhooks: signed tracking events, one endpoint per carrier."""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from backend.core.exceptions import DomainError
from plugins.manager import get_plugins_manager

from . import services
from .error_codes import LogisticsErrorCode

STATUS_BY_CODE = {
    LogisticsErrorCode.CARRIER_NOT_FOUND: 404,
    LogisticsErrorCode.INVALID_SIGNATURE: 401,
    LogisticsErrorCode.WEBHOOK_NOT_CONFIGURED: 403,
    LogisticsErrorCode.INVALID: 400,
}


# Carriers authenticate with the HMAC signature, not with cookies: no CSRF token.
@csrf_exempt
@require_POST
def carrier_tracking_webhook(request, carrier_id: str):
    try:
        summary = services.tracking_webhook_receive(
            carrier_id=carrier_id, request=request, manager=get_plugins_manager(request)
        )
    except DomainError as error:
        return JsonResponse(
            {"error": error.code.name, "message": error.message}, status=STATUS_BY_CODE.get(error.code, 400)
        )
    return JsonResponse(summary)
