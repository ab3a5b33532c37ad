"""API: a token for ``Authorization: Token <key>`` in exchange for a username and password.

Password guessing is throttled like the login page (filial/accounts/throttle.py: per account and per address);
each call issues a new token (only its digest is stored, see filial/accounts/tokens.py), valid until ``expires``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_serializer, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from filial.accounts.services import api_token_issue
from filial.accounts.throttle import is_locked_out, lockout_message, retry_after_seconds


@extend_schema_serializer(component_name="Token")  # published as "TokenRequest" (the body), not "TokenRequestRequest"
class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        request = self.context.get("request")
        django_request = getattr(request, "_request", request)  # axes marks the Django request it is given
        user = authenticate(django_request, username=attrs["username"], password=attrs["password"])
        if user is None and django_request is not None and is_locked_out(django_request):
            raise exceptions.Throttled(wait=retry_after_seconds(), detail=lockout_message())
        if user is None or not user.is_active:
            raise serializers.ValidationError(_("Wrong username or password."), code="authorization")
        attrs["user"] = user
        return attrs


class TokenView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: inline_serializer("TokenResponse", {"token": serializers.CharField(),
                                                            "expires": serializers.DateTimeField()})},
        auth=[],
        summary="Get an API token",
        description="Exchange a username and password for a new token; send it as `Authorization: Token <key>` "
                    "until `expires`. A password change or deactivation ends it. Repeated wrong passwords lock "
                    "sign-in for a while (429 with Retry-After).",
    )
    def post(self, request: Request) -> Response:
        serializer = TokenRequestSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        key, expires = api_token_issue(user=serializer.validated_data["user"])
        return Response({"token": key, "expires": expires.isoformat()}, status=status.HTTP_200_OK)
