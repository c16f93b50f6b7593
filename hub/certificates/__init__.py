"""The unit's TLS client certificate, in one place: what a certificate says, the pair in use, its expiry
and its rotation on the platform's command.

`x509.py` (checks, key and CSR made on the device) and `der.py` (PEM/DER read in plain Python) read
certificates; `pair.py` says which certificate and key the uplink presents; `expiry.py` is the component
(`build`: expiry in status and device health, `fault.certificate`) and `rotation.py` serves
`cmd/rotate_cert`. The `[certificates]` config section is in `schema.py`. Used by hub.core's uplink and
by the self-test and device health.
"""
