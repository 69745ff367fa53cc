from django.urls import path

from accounts import views

urlpatterns = [
    path("auth/providers", views.ProvidersView.as_view(), name="auth-providers"),
    path("auth/signup", views.SignupView.as_view(), name="auth-signup"),
    path("auth/register", views.SignupView.as_view(), name="auth-register"),
    path("auth/confirm", views.ConfirmView.as_view(), name="auth-confirm"),
    path("auth/confirm/resend", views.ConfirmResendView.as_view(), name="auth-confirm-resend"),
    path("auth/login", views.LoginView.as_view(), name="auth-login"),
    path("auth/refresh", views.RefreshView.as_view(), name="auth-refresh"),
    path("auth/logout", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/password/reset", views.PasswordResetView.as_view(), name="auth-password-reset"),
    path("auth/password/reset/confirm", views.PasswordResetConfirmView.as_view(), name="auth-password-reset-confirm"),
    path("auth/password/change", views.PasswordChangeView.as_view(), name="auth-password-change"),
    path("auth/me", views.MeView.as_view(), name="auth-me"),
    path("auth/me/export", views.MeExportView.as_view(), name="auth-me-export"),
]
