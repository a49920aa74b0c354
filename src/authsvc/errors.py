"""Domain errors: what can go wrong, with no HTTP knowledge.

    AuthError                      expected failure; carries no HTTP knowledge
    ├── NotAuthenticated           no usable credentials were presented
    ├── InvalidCredentials         wrong username or password
    │   └── WrongPassword          wrong current password on a password change
    ├── AccountDisabled            the right password of a disabled account
    ├── RoleRequired               a valid token without the role a route asks for
    │   └── SecondFactorRequired   a valid token of a session opened with one factor
    ├── InvalidToken               bad signature, claims, type or expiry
    ├── SessionEnded               the token's session is revoked, expired or gone
    │   └── RefreshReused          a superseded refresh token came back: theft
    ├── RegistrationClosed
    ├── UsernameTaken
    ├── InvalidUsername            not a username we accept (message says why)
    ├── PasswordRejected           the password policy said no (message says why)
    ├── SessionNotFound
    ├── UserNotFound               no such account (or an id of the wrong shape)
    ├── InvalidRoles               role names we do not accept (message says why)
    ├── LastAdmin                  the change would leave no enabled administrator
    ├── InvalidCursor              a page cursor we did not hand out
    ├── CrossSiteRequest           a cookie route called from a page we do not serve
    ├── DuplicateCookie            more than one refresh cookie: one was planted
    ├── PasswordChangedMeanwhile   the password changed after it was checked
    ├── Throttled                  too many attempts; carries Retry-After
    ├── HashingBusy                too many password checks waiting already
    ├── InvalidEmailToken          an e-mail link's token is malformed, unknown, used or expired
    ├── EmailNotVerified           the login is refused until the address is verified
    ├── EmailVerificationOff       EMAIL_VERIFICATION=off
    ├── MailNotConfigured          production without SMTP_URL: the e-mail flows are off
    ├── NoEmailAddress             the account has no address to verify
    ├── EmailAlreadyVerified
    ├── PasskeysOff                production without WEBAUTHN_RP_ID: passkeys are off
    ├── InvalidChallenge           a WebAuthn challenge id unknown, used, expired or not yours
    ├── MalformedCredential        a WebAuthn credential that is not one
    ├── PasskeyNotVerified         a registration response that fails verification
    ├── PasskeyRefused             a login assertion that fails verification
    │   └── SignCountRegressed     its counter did not advance: a cloned authenticator
    ├── PasskeyTaken               the credential is registered already
    ├── PasskeyNotFound            no such passkey of the caller's
    ├── TotpNotConfigured          production without MFA_ENCRYPTION_KEY: TOTP is off
    ├── TotpAlreadyEnabled
    ├── TotpNotEnabled             nothing to remove
    ├── NoTotpSetup                nothing to confirm (or a newer setup replaced it)
    ├── InvalidMfaCode             a wrong, replayed or used TOTP or recovery code
    ├── InvalidMfaToken            the second login step's token is unknown, used or dead
    ├── MfaMethodUnavailable       a method the account does not hold
    ├── MfaAnswerMismatch          an answer of another kind than the method takes
    ├── CurrentPasswordRequired    the action needs the password (no recent login)
    ├── StoreUnavailable           the database did not answer in time
    └── NotReady                   a configured dependency did not answer the readiness probe

Services raise these; `authsvc.api.errors` maps them to HTTP answers once, so routers never
build errors and nothing below the API loads a web framework.
"""

from __future__ import annotations


class AuthError(Exception):
    """Base of every expected failure."""


class NotAuthenticated(AuthError):
    pass


class InvalidCredentials(AuthError):
    def __init__(self, user_id: str | None = None) -> None:
        super().__init__()
        self.user_id = user_id  # for the security log when the account exists; never shown


class WrongPassword(InvalidCredentials):
    pass


class InvalidToken(AuthError):
    pass


class SessionEnded(AuthError):
    pass


class RefreshReused(SessionEnded):
    pass


class AccountDisabled(AuthError):
    """Only ever raised after the password was checked, so it tells nothing to a guesser."""


class RoleRequired(AuthError):
    pass


class SecondFactorRequired(RoleRequired):
    pass


class UserNotFound(AuthError):
    pass


class InvalidRoles(AuthError):
    """The message is shown: it names the rule, never the names sent."""


class LastAdmin(AuthError):
    """Refused so that someone can always administer the service through the API."""


class RegistrationClosed(AuthError):
    pass


class UsernameTaken(AuthError):
    pass


class InvalidUsername(AuthError):
    """The message is shown to the user: it names the rule."""


class PasswordRejected(AuthError):
    """The message is shown to the user: it names the rule, never the password."""


class InvalidCursor(AuthError):
    pass


class SessionNotFound(AuthError):
    pass


class CrossSiteRequest(AuthError):
    """The message is shown: it says which defence refused the request."""


class DuplicateCookie(AuthError):
    pass


class Throttled(AuthError):
    def __init__(self, *, retry_after: int = 1) -> None:
        super().__init__()
        self.retry_after = retry_after  # whole seconds, for the Retry-After header


class PasswordChangedMeanwhile(AuthError):
    """Another request changed the password between its check and this change."""


class HashingBusy(AuthError):
    """The hashing queue is full: answered at once rather than queued without bound."""


class InvalidEmailToken(AuthError):
    pass


class EmailNotVerified(AuthError):
    pass


class EmailVerificationOff(AuthError):
    pass


class MailNotConfigured(AuthError):
    pass


class NoEmailAddress(AuthError):
    pass


class EmailAlreadyVerified(AuthError):
    pass


class PasskeysOff(AuthError):
    pass


class InvalidChallenge(AuthError):
    pass


class MalformedCredential(AuthError):
    pass


class PasskeyNotVerified(AuthError):
    pass


class PasskeyRefused(AuthError):
    def __init__(self, user_id: str | None = None) -> None:
        super().__init__()
        self.user_id = user_id  # the passkey's owner when it was found; never shown


class SignCountRegressed(PasskeyRefused):
    pass


class PasskeyTaken(AuthError):
    pass


class PasskeyNotFound(AuthError):
    pass


class StoreUnavailable(AuthError):
    pass


class NotReady(AuthError):
    pass


class TotpNotConfigured(AuthError):
    pass


class TotpAlreadyEnabled(AuthError):
    pass


class TotpNotEnabled(AuthError):
    pass


class NoTotpSetup(AuthError):
    pass


class InvalidMfaCode(AuthError):
    pass


class InvalidMfaToken(AuthError):
    pass


class MfaMethodUnavailable(AuthError):
    pass


class MfaAnswerMismatch(AuthError):
    pass


class CurrentPasswordRequired(AuthError):
    pass
