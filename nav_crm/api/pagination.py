from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """``?page=N``; clients may ask for ``?page_size=N`` up to a cap that keeps responses small."""

    page_size_query_param = "page_size"
    max_page_size = 500
