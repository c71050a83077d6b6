"""TAXII 2.1 section 4.3, Get Status: ``GET /<api-root>/status/<status-id>/``."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from exchange.api.schema import ref
from exchange.taxii.base import TaxiiView
from exchange.taxii.models import Status, StatusState
from exchange.taxii.services import status_requeue_stale


class StatusView(TaxiiView):
    """A status resource (section 4.3.1), readable by the member that made the request only.

    Anyone else gets 404, as if it did not exist: status ids travel in logs and proxies.
    Reading a ``pending`` status whose task was lost queues its publication again.
    """

    @extend_schema(responses={200: ref("TaxiiStatus")})
    def get(self, request: Request, api_root: str, status_id: str) -> Response:
        try:
            pk = uuid.UUID(status_id)
        except ValueError as exc:
            raise exceptions.NotFound(f"No status {status_id}.") from exc
        status = Status.objects.filter(pk=pk, api_root=api_root, owner=self.member(request)).first()
        if status is None:
            raise exceptions.NotFound(f"No status {status_id} of yours.")
        if status.status == StatusState.PENDING:
            status_requeue_stale(status=status)
        return Response(status.as_resource())
