"""Announce each gateway decision, so that counting and metrics can listen (DESIGN §9).

Sent by /gateway/check once per request it answers with a decision (on the
hottest path: cached receivers), with sender=Decision: decision, request.
"""

from django.dispatch import Signal

gateway_checked = Signal(use_caching=True)
