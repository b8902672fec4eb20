app_name = "erp"

urlpatterns = []
