"""The API's ``Authorization: Token <key>`` check (REST_FRAMEWORK's authentication class): the key's digest looked up
through the selectors, the token's validity from :mod:`filial.accounts.tokens`."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from filial.accounts.selectors import api_token_for_key
from filial.accounts.tokens import token_valid


class ApiTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>`` checked against the stored digests (DRF's own Token model keeps keys)."""

    keyword = "Token"

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        token = api_token_for_key(key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token_valid(token):
            raise exceptions.AuthenticationFailed(
                _("This token has expired or was revoked: get a new one from /api/v1/auth/token/."))
        return token.user, token
