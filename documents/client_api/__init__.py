"""The existing web client's document, folder, snapshot and sharing paths (SPEC §3.9): thin views over the
documents services and selectors, with the client's envelopes; one URL include for the whole app."""

from documents.client_api.urls import urlpatterns

__all__ = ["urlpatterns"]
