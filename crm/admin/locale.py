"""The back-office's language, and only the back-office's (docs/admin.md "In Brazilian
Portuguese", docs/api.md §6).

Django's `LocaleMiddleware` picks a language from the browser's `Accept-Language` for every
request. Staff pages want that; the API must not: its messages are Midaz's, in English, for
every client (an integration that sends `Accept-Language: pt-BR` got DRF's field messages in
Portuguese, "Certifique-se de que este campo não tenha mais de 256 caracteres."). So this
middleware does what Django's does under `/admin/` (choose, `Content-Language`,
`Vary: Accept-Language`), and elsewhere activates `API_LANGUAGE` ("en") and adds no header.
"""

from django.middleware.locale import LocaleMiddleware
from django.utils import translation

from crm.admin.errors import is_admin_path

API_LANGUAGE = "en"


class BackOfficeLocaleMiddleware(LocaleMiddleware):
    def process_request(self, request):
        if is_admin_path(request):
            return super().process_request(request)
        translation.activate(API_LANGUAGE)
        request.LANGUAGE_CODE = API_LANGUAGE
        return None

    def process_response(self, request, response):
        if is_admin_path(request):
            return super().process_response(request, response)
        return response
