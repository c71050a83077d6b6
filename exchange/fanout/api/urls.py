from __future__ import annotations

from django.urls import path

from exchange.fanout.api import views

urlpatterns = [
    path("", views.SubscriptionListView.as_view(), name="subscription-list"),
    path("<uuid:subscription_id>/", views.SubscriptionDetailView.as_view(), name="subscription"),
    path("<uuid:subscription_id>/pause/", views.SubscriptionPauseView.as_view()),
    path("<uuid:subscription_id>/resume/", views.SubscriptionResumeView.as_view()),
    path("<uuid:subscription_id>/secret/", views.SubscriptionSecretView.as_view()),
    path(
        "<uuid:subscription_id>/health/",
        views.SubscriptionHealthView.as_view(),
        name="subscription-health",
    ),
    path("<uuid:subscription_id>/deliveries/", views.DeliveryListView.as_view()),
    path("<uuid:subscription_id>/replay/", views.SubscriptionReplayView.as_view()),
    path(
        "<uuid:subscription_id>/deliveries/<uuid:delivery_id>/replay/",
        views.DeliveryReplayView.as_view(),
    ),
]
