"""WebAuthn ceremonies through the `webauthn` package (py_webauthn), in authsvc's terms.

Every CBOR, COSE and signature check is the package's; this module only builds its options,
calls its verifiers with what the relying party expects, and turns anything it raises into a
domain error, so a malformed credential is a 4xx and never a 500.

Policy, the same for every ceremony: a discoverable credential (resident key) is required, so
logins need no username; user verification is required, so a passkey is two factors; the
attestation asked for is "none" (which authenticator model it is does not matter here).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from authsvc.errors import MalformedCredential, PasskeyNotVerified, PasskeyRefused
from authsvc.settings.webauthn import RelyingParty

# The `webauthn` package (about 7 MB resident with its CBOR and COSE dependencies) is imported
# by the ceremonies themselves, on first use: a worker that never sees a passkey never loads it.
if TYPE_CHECKING:
    from webauthn.helpers.structs import (
        AuthenticationCredential,
        PublicKeyCredentialDescriptor,
        RegistrationCredential,
    )

log = logging.getLogger("authsvc.passkeys")

CredentialT = TypeVar("CredentialT", "RegistrationCredential", "AuthenticationCredential")


def challenge_hash(challenge: bytes) -> str:
    """How the store keeps a challenge: SHA-256, hex."""
    return hashlib.sha256(challenge).hexdigest()


@dataclass(frozen=True, slots=True)
class Registration:
    """A verified new credential."""

    credential_id: str  # base64url
    public_key: bytes  # COSE_Key
    sign_count: int
    transports: tuple[str, ...]
    aaguid: str
    backed_up: bool


@dataclass(frozen=True, slots=True)
class Assertion:
    """A login answer, parsed but not yet verified."""

    credential: AuthenticationCredential
    credential_id: str  # base64url
    challenge: bytes  # the one the browser signed, from clientDataJSON
    user_handle: bytes | None


@dataclass(frozen=True, slots=True)
class VerifiedAssertion:
    sign_count: int
    backed_up: bool


@dataclass(frozen=True, slots=True)
class Attestation:
    """A registration answer, parsed but not yet verified."""

    credential: RegistrationCredential
    challenge: bytes


class Ceremonies:
    """The two WebAuthn ceremonies of one relying party."""

    def __init__(self, party: RelyingParty) -> None:
        self.party = party

    def registration_options(
        self,
        *,
        user_id: str,
        username: str,
        challenge: bytes,
        existing: list[tuple[str, tuple[str, ...]]],
    ) -> dict[str, Any]:
        """PublicKeyCredentialCreationOptions as JSON; `existing` (credential id, transports)
        are excluded, so an authenticator is not registered twice."""
        from webauthn import generate_registration_options, options_to_json
        from webauthn.helpers.structs import (
            AttestationConveyancePreference,
            AuthenticatorSelectionCriteria,
            ResidentKeyRequirement,
            UserVerificationRequirement,
        )

        options = generate_registration_options(
            rp_id=self.party.rp_id,
            rp_name=self.party.rp_name,
            # The user handle comes back with every discoverable login: the account's id,
            # which names no person (W3C WebAuthn §14.6.1).
            user_id=user_id.encode(),
            user_name=username,
            user_display_name=username,
            challenge=challenge,
            timeout=self.party.challenge_ttl_seconds * 1000,
            attestation=AttestationConveyancePreference.NONE,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                require_resident_key=True,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=[_descriptor(cid, transports) for cid, transports in existing],
        )
        return _as_json(options_to_json(options))

    def authentication_options(
        self, *, challenge: bytes, allowed: list[tuple[str, tuple[str, ...]]] | None = None
    ) -> dict[str, Any]:
        """PublicKeyCredentialRequestOptions as JSON. Without `allowed` (credential id,
        transports), for a discoverable credential: no allowCredentials, so the browser offers
        whichever passkeys it holds for the RP; with it, only those (a known account's)."""
        from webauthn import generate_authentication_options, options_to_json
        from webauthn.helpers.structs import UserVerificationRequirement

        options = generate_authentication_options(
            rp_id=self.party.rp_id,
            challenge=challenge,
            timeout=self.party.challenge_ttl_seconds * 1000,
            allow_credentials=[_descriptor(cid, transports) for cid, transports in allowed or []],
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        return _as_json(options_to_json(options))

    def parse_attestation(self, credential: dict[str, Any]) -> Attestation:
        """Raises: MalformedCredential."""
        from webauthn.helpers.parse_registration_credential_json import (
            parse_registration_credential_json,
        )

        parsed, challenge = _parsed(parse_registration_credential_json, credential)
        return Attestation(credential=parsed, challenge=challenge)

    def verify_attestation(self, attestation: Attestation) -> Registration:
        """Raises: PasskeyNotVerified (origin, RP id, flags, format, key type...)."""
        from webauthn import verify_registration_response
        from webauthn.helpers import bytes_to_base64url

        try:
            verified = verify_registration_response(
                credential=attestation.credential, **self._expected(attestation.challenge)
            )
        except Exception as exc:  # fail closed: whatever failed, nothing is registered
            log.info("passkey registration refused: %s", _reason(exc))
            raise PasskeyNotVerified from exc
        transports = attestation.credential.response.transports or []
        return Registration(
            credential_id=bytes_to_base64url(verified.credential_id),
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            transports=tuple(t.value for t in transports),
            aaguid=verified.aaguid,
            backed_up=verified.credential_backed_up,
        )

    def parse_assertion(self, credential: dict[str, Any]) -> Assertion:
        """Raises: MalformedCredential."""
        from webauthn.helpers import bytes_to_base64url
        from webauthn.helpers.parse_authentication_credential_json import (
            parse_authentication_credential_json,
        )

        parsed, challenge = _parsed(parse_authentication_credential_json, credential)
        return Assertion(
            credential=parsed,
            credential_id=bytes_to_base64url(parsed.raw_id),
            challenge=challenge,
            user_handle=parsed.response.user_handle,
        )

    def verify_assertion(
        self, assertion: Assertion, *, public_key: bytes, user_id: str
    ) -> VerifiedAssertion:
        """Check the signature, origin, RP id and flags; the counter is the caller's to judge
        (after the signature, so a forged assertion cannot raise a clone alarm).

        Raises: PasskeyRefused.
        """
        from webauthn import verify_authentication_response

        try:
            verified = verify_authentication_response(
                credential=assertion.credential,
                credential_public_key=public_key,
                # 0 turns the package's counter check off: it would refuse a regression before
                # checking the signature, and without telling it apart from other failures.
                credential_current_sign_count=0,
                **self._expected(assertion.challenge),
            )
        except Exception as exc:  # fail closed: whatever failed, no session opens
            log.info("passkey assertion refused: %s", _reason(exc))
            raise PasskeyRefused(user_id) from exc
        return VerifiedAssertion(
            sign_count=verified.new_sign_count, backed_up=verified.credential_backed_up
        )

    def _expected(self, challenge: bytes) -> dict[str, Any]:
        """What every answer is checked against: its challenge, this relying party and its
        origins, and user verification (the policy in the module docstring)."""
        return {
            "expected_challenge": challenge,
            "expected_rp_id": self.party.rp_id,
            "expected_origin": list(self.party.origins),
            "require_user_verification": True,
        }


def _parsed(
    parse: Callable[[dict[str, Any]], CredentialT], credential: dict[str, Any]
) -> tuple[CredentialT, bytes]:
    """The credential as `parse` reads it, and the challenge its client data names.

    Raises: MalformedCredential.
    """
    from webauthn.helpers import parse_client_data_json

    try:
        parsed = parse(credential)
        client_data = parse_client_data_json(parsed.response.client_data_json)
    except Exception as exc:  # anything malformed input makes the parser raise
        raise _malformed(exc) from exc
    return parsed, client_data.challenge


def _descriptor(credential_id: str, transports: tuple[str, ...]) -> PublicKeyCredentialDescriptor:
    from webauthn import base64url_to_bytes
    from webauthn.helpers.structs import AuthenticatorTransport, PublicKeyCredentialDescriptor

    known = {transport.value: transport for transport in AuthenticatorTransport}
    return PublicKeyCredentialDescriptor(
        id=base64url_to_bytes(credential_id),
        transports=[known[t] for t in transports if t in known],
    )


def _as_json(options: str) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(options)
    return parsed


def _reason(exc: Exception) -> str:
    # The package's messages name the check that failed and quote no secret; other
    # exceptions are named by type only, their text may quote the input.
    from webauthn.helpers.exceptions import WebAuthnException

    return str(exc)[:200] if isinstance(exc, WebAuthnException) else type(exc).__name__


def _malformed(exc: Exception) -> MalformedCredential:
    log.info("malformed passkey credential: %s", _reason(exc))
    return MalformedCredential()
