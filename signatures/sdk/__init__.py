"""The member-side toolkit: builds, signs and verifies STIX 2.1 objects of the
distillation profile without Django, so labs can run it on their own machines."""
