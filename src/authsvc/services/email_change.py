"""Change of address by a signed-in user: the new address is mailed a link, and the account
moves to it only once the link is used (`EmailVerification.verify` takes the token), after
which the old address is told.

The current password is asked for, throttled like a password change: a stolen access token
must not be enough to move an account's mail, and with it its password resets, elsewhere.
Addresses are not unique (registration and administrators never required it), so an address
another account holds can be confirmed too.
"""

from __future__ import annotations

from authsvc.events import ClientInfo, EventKind, Observer
from authsvc.services.accounts import AccountService
from authsvc.services.email_verification import LinkMailer, MailedLink
from authsvc.services.reauthentication import EMAIL_CHANGE, Reauthentication
from authsvc.store.records import CHANGE_EMAIL
from authsvc.throttle import LoginThrottle
from authsvc.tokens import AccessClaims

EMAIL_CHANGE_VERIFY = "email_change_verify"


class EmailChangeService:
    def __init__(
        self,
        *,
        links: LinkMailer,
        accounts: AccountService,
        throttle: LoginThrottle,
        observer: Observer,
    ) -> None:
        self._links = links
        settings = links.settings
        self._link = MailedLink.of(
            CHANGE_EMAIL,
            EMAIL_CHANGE_VERIFY,
            settings.email_verify_url,
            settings.email_token_ttl_seconds,
        )
        self._reauthentication = Reauthentication(
            accounts=accounts, throttle=throttle, observer=observer
        )

    async def request(
        self, claims: AccessClaims, email: str, current_password: str, client: ClientInfo
    ) -> None:
        """Mail `email` a link that makes it the account's address; earlier links end.

        Raises: MailNotConfigured, SessionEnded, Throttled, WrongPassword, HashingBusy.
        """
        self._links.available()
        user = await self._reauthentication.confirm_password(
            claims, current_password, client=client, refusals=EMAIL_CHANGE
        )
        await self._links.send(self._link, user=user, email=email)
        await self._reauthentication.report(EventKind.EMAIL_CHANGE_REQUESTED, claims, client)
