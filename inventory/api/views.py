"""Product API: the catalogue."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inventory.api.serializers import ProductOutput
from inventory.selectors import product_list
from sagas.api.toolkit.docs import READ_ERRORS


class ProductListApi(APIView):
    """Products for sale, by SKU, with their price and the stock free to order."""

    # The browsable API shows this (not the docstring), in the reader's language.
    description = _("Products for sale, by SKU, with their price and the stock free to order.")

    name = _("Products")

    # The schema says what the browsable API says, in the reader's language (not the docstring).
    @extend_schema(
        operation_id="products_list",
        summary=_("List products"),
        description=description,
        responses={200: ProductOutput(many=True), **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        return Response(ProductOutput(product_list(), many=True).data)
