"""FHIR R4 output, one builder for every command.

:mod:`.common` holds what all Bundles share (ids, full URLs, the collection Bundle, the
version line); :mod:`.pgx`, :mod:`.cgm`, :mod:`.cardio`, :mod:`.oncology` and :mod:`.variants`
turn one kind of result into resources; :mod:`.plan` joins them for the treatment plan.
Entry points: :func:`~.pgx.pgx_bundle` (``pgx --format fhir``), :func:`~.cgm.cgm_bundle`
(``monitor metrics --format fhir``) and :func:`~.plan.plan_bundle` (``plan --format fhir``).
"""
