from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from django.core.signals import request_finished

        # Count in the metrics what tokens announces.
        from ops import receivers  # noqa: F401
        from ops.request_ids import forget

        request_finished.connect(forget, dispatch_uid="ops.request_ids.forget")

        # The API answers its own exceptions (and, in DEBUG, with a traceback): give it ours.
        from ops.unavailable import DATABASE_DOWN, database_down_response
        from tokens.api import api

        for error in DATABASE_DOWN:
            api.add_exception_handler(error, database_down_response)
