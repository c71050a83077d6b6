"""Identifiers every party of the exchange agrees on.

They are fixed here (not generated per installation) because they travel inside
shared STIX objects: a lab's builder, the exchange and a partner's verifier must
all name the same extension and the same Forum identity.
"""

from __future__ import annotations

from typing import Final

#: The exchange operator's STIX identity; it owns the profile's extension definitions.
FORUM_IDENTITY_ID: Final = "identity--3c31eef7-4eb5-40f5-9f6e-e8444646e282"

#: X.590 (JSS) signatures live in this Forum-owned property extension.
SIGNING_EXTENSION_ID: Final = "extension-definition--0e314a05-39b5-43ee-a0e0-1d56623028a0"
#: Names the identities a TLP:RED object may be served to.
DISTRIBUTION_EXTENSION_ID: Final = "extension-definition--bc052348-e050-42fe-b9c5-865cd6229963"

#: The distillation profile's new observables (STIX 2.1 `new-sco` extensions).
PROMPT_PATTERN_EXTENSION_ID: Final = "extension-definition--dfc1117f-5f34-4e9e-aa48-90d951c8b603"
PAYMENT_INSTRUMENT_EXTENSION_ID: Final = (
    "extension-definition--75cdc803-53f7-44ce-9d27-0960d3c27d41"
)
SESSION_TIMING_EXTENSION_ID: Final = "extension-definition--79188e8c-1269-4ba2-b7e1-3c51e0556870"
ACCOUNT_CLUSTER_EXTENSION_ID: Final = "extension-definition--649431e0-2acf-4407-828c-bd7678cac878"

PROMPT_PATTERN_TYPE: Final = "prompt-pattern"
PAYMENT_INSTRUMENT_TYPE: Final = "payment-instrument"
SESSION_TIMING_TYPE: Final = "api-session-profile"
ACCOUNT_CLUSTER_TYPE: Final = "account-cluster"

#: STIX 2.1 section 2.9: the namespace for deterministic (UUIDv5) SCO identifiers.
SCO_ID_NAMESPACE: Final = "00abedb4-aa42-466c-9c01-fed23315a9b7"

#: Meta objects that may credit an organisation other than their publisher as creator
#: (STIX 2.1 section 7: a statement marking names its rights holder, a translation its
#: translator). Their signee is the publisher whatever created_by_ref says; every other
#: object is signed by its creator (or countersigned by the Forum). docs/signing.md section 3.
CREDITABLE_TYPES: Final = frozenset({"marking-definition", "language-content"})

#: TLP 2.0 marking definitions (cti-stix-common-objects, extension 60a3c5c5...).
TLP2_EXTENSION_ID: Final = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2_CLEAR: Final = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
TLP2_GREEN: Final = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
TLP2_AMBER: Final = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
TLP2_AMBER_STRICT: Final = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
TLP2_RED: Final = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"

#: TLP 1.0 ids (STIX 2.1 section 7.2.1.4) and OpenCTI's AMBER+STRICT id, read as TLP 2.0.
TLP1_TO_TLP2: Final = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": TLP2_CLEAR,
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": TLP2_GREEN,
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": TLP2_AMBER,
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": TLP2_RED,
    "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37": TLP2_AMBER_STRICT,
}

#: TLP 2.0 level names by marking id, from least to most restrictive.
TLP2_LEVELS: Final = {
    TLP2_CLEAR: "clear",
    TLP2_GREEN: "green",
    TLP2_AMBER: "amber",
    TLP2_AMBER_STRICT: "amber+strict",
    TLP2_RED: "red",
}

#: The profile's own kill chain (STIX 2.1 section 4.2 kill-chain-phase), in attack order.
DISTILLATION_KILL_CHAIN: Final = "ai-isac-distillation"
DISTILLATION_PHASES: Final = (
    "account-acquisition",
    "access-provisioning",
    "capability-probing",
    "bulk-extraction",
    "release-chasing",
)

#: TLP 2.0 marking ids by level name, the inverse of TLP2_LEVELS.
TLP2_BY_LEVEL: Final = {level: marking for marking, level in TLP2_LEVELS.items()}

#: I-JSON (RFC 7493 section 2.2): integers beyond 2**53 - 1 lose precision in other parsers,
#: and RFC 8785, which signatures are computed over, refuses them.
MAX_SAFE_INTEGER: Final = 2**53 - 1
