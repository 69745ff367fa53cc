from django.apps import AppConfig


class CollabConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "collab"
    verbose_name = "Live collaboration"

    def ready(self) -> None:
        from collab.services import on_content_written, on_lifecycle_changed
        from documents.signals import content_written, lifecycle_changed

        content_written.connect(on_content_written, dispatch_uid="collab-content-written")
        lifecycle_changed.connect(on_lifecycle_changed, dispatch_uid="collab-lifecycle")
