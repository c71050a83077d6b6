"""The exchange's transport signature: a detached JWS over every JSON response body.

docs/signing.md section 6: each successful JSON response of the API and of TAXII carries
``X-ISAC-JWS-Signature``, a detached JWS (RFC 7515 Appendix F) over the exact body bytes,
made with the Forum key. Consumers check it against the Forum's JWK Set
(``/api/v1/members/<forum identity>/jwks.json``).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBase

from members.keystore import forum_signer
from signatures.sdk.jss import jws_detached_sign

JWS_HEADER = "X-ISAC-JWS-Signature"


def _is_json(content_type: str) -> bool:
    """application/json and the +json media types (RFC 6839): TAXII, STIX, problem details."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


class ResponseSigningMiddleware:
    """Adds the Forum's detached JWS to successful JSON responses.

    It keys on the media type rather than on URL prefixes, so TAXII API roots (served at
    ``/<api-root>/``), discovery (``/taxii2/``) and the REST API (``/api/v1/``) are all
    covered. Without an active Forum key (before the Forum exists) it adds nothing.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if (
            200 <= response.status_code < 300
            and isinstance(response, HttpResponse)
            and _is_json(response.get("Content-Type", ""))
        ):
            signer = forum_signer()
            if signer is not None:
                response[JWS_HEADER] = jws_detached_sign(
                    response.content, signer.private_key, signer.thumbprint
                )
        return response
