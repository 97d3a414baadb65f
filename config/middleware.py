"""Middleware of the whole site."""

from django.utils.cache import add_never_cache_headers, patch_cache_control


def private_pages_not_cached(get_response):
    """Keep every response to a signed-in person out of shared and browser caches.

    Pages list photos that a sharing choice may withdraw at any moment, so no
    copy may outlive the request.
    """

    def middleware(request):
        response = get_response(request)
        if request.user.is_authenticated and "Cache-Control" not in response:
            add_never_cache_headers(response)
            patch_cache_control(response, private=True)
        return response

    return middleware
