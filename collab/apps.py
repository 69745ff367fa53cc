from django.apps import AppConfig


class CollabConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "collab"
    verbose_name = "Live collaboration"

    def serving_started(self, loop) -> None:
        """Called by the ASGI application on the server's loop when it starts serving: live edits left
        unmaterialized (by a process that died) reach the markdown now and periodically, in the background."""
        from collab.services import collab_catch_up_forever  # the models are loaded only now

        self.catch_up = loop.create_task(collab_catch_up_forever())  # referenced: a task nobody holds may vanish
