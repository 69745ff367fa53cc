"""URL map of the existing client's document paths; included after the SPEC paths, before the catch-all."""

urlpatterns: list = []
