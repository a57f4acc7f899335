"""The gateway's routes: the console's HTTP service dialogs (gateway/console_urls.py)."""

from gateway import console_urls

app_name = "gateway"

urlpatterns = [*console_urls.urlpatterns]
