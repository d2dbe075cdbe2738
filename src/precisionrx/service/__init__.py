"""``precisionrx serve``: the REST service over the patient store (FastAPI).

Layers: :mod:`.app` builds the application; :mod:`.auth` turns a bearer token into an
identity and checks each route's roles; :mod:`.access` decides which patients an identity may
reach and asks the consent function (:mod:`precisionrx.security.consent`) before any read,
export or plan; :mod:`.routes` are thin handlers; :mod:`.jobs` runs plans off the request
thread; :mod:`.planning` turns the stored record and files into a plan through the same
entry point as ``precisionrx plan``. Every patient datum goes through
:class:`precisionrx.storage.store.Store`, which encrypts it and writes the audit trail.
"""
