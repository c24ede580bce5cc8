"""A stock gRPC client against `emporium grpc`: Python's grpcio, with stubs generated here from
proto/ by grpcio-tools, and grpcio-health-checking's health client (nothing of ours). Run by GRPCTests.stockClient.

It checks credentials (none, a customer's token, the service token), the stock of many SKUs in
one call, server reflection, placing an order with an idempotency key (a repeat, a reuse with other lines), reading
one's own order and not another's, listing orders as a server stream, the health service, a
deadline, and invalid arguments.
"""
import argparse
import importlib
import os
import sys
import tempfile
import uuid

import grpc
from grpc_tools import protoc


def check(condition, message):
    if not condition:
        print("FAIL:", message)
        sys.exit(1)
    print("ok:", message)


def code_of(call):
    try:
        call()
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    parser.add_argument("--protos", required=True)
    parser.add_argument("--customer", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--other-token", required=True)
    parser.add_argument("--service-token", required=True)
    parser.add_argument("--sku", required=True)
    arguments = parser.parse_args()

    out = tempfile.mkdtemp(prefix="emporium-grpc-stubs-")
    # Ours; the health and reflection clients are grpcio-health-checking's and grpcio-reflection's.
    protos = [os.path.relpath(os.path.join(d, f), arguments.protos) for d, _, fs in os.walk(arguments.protos) for f in fs
              if f.endswith(".proto") and not os.path.relpath(d, arguments.protos).startswith("grpc")]
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    status = protoc.main(["protoc", f"-I{arguments.protos}", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}", *protos])
    check(status == 0, f"grpcio-tools generated stubs for {sorted(protos)}")
    sys.path.insert(0, out)
    stock_pb2 = importlib.import_module("emporium.stock.v1.stock_pb2")
    stock_grpc = importlib.import_module("emporium.stock.v1.stock_pb2_grpc")
    order_pb2 = importlib.import_module("emporium.order.v1.order_pb2")
    order_grpc = importlib.import_module("emporium.order.v1.order_pb2_grpc")
    storefront_pb2 = importlib.import_module("emporium.storefront.v1.storefront_pb2")
    storefront_grpc = importlib.import_module("emporium.storefront.v1.storefront_pb2_grpc")
    from grpc_health.v1 import health_pb2, health_pb2_grpc as health_grpc

    channel = grpc.insecure_channel(arguments.target)
    stock = stock_grpc.StockServiceStub(channel)
    orders = order_grpc.OrderServiceStub(channel)
    health = health_grpc.HealthStub(channel)
    storefront = storefront_grpc.StorefrontServiceStub(channel)
    customer = [("authorization", "Bearer " + arguments.token)]
    other = [("authorization", "Bearer " + arguments.other_token)]
    service = [("authorization", "Bearer " + arguments.service_token)]

    check(code_of(lambda: stock.GetStock(stock_pb2.GetStockRequest(skus=[arguments.sku]), timeout=10)) == grpc.StatusCode.UNAUTHENTICATED,
          "no credentials: UNAUTHENTICATED")
    check(code_of(lambda: stock.GetStock(stock_pb2.GetStockRequest(skus=[arguments.sku]), metadata=[("authorization", "Bearer nope")], timeout=10))
          == grpc.StatusCode.UNAUTHENTICATED, "a bad token: UNAUTHENTICATED")

    levels = stock.GetStock(stock_pb2.GetStockRequest(skus=[arguments.sku, "NO-SUCH-SKU", arguments.sku]), metadata=customer, timeout=10)
    check([level.sku for level in levels.levels] == [arguments.sku] and levels.levels[0].available > 0 and list(levels.missing) == ["NO-SUCH-SKU"],
          f"stock of many SKUs in one call ({levels})")
    check(code_of(lambda: stock.GetStock(stock_pb2.GetStockRequest(skus=[f"S{i}" for i in range(1001)]), metadata=customer, timeout=10))
          == grpc.StatusCode.INVALID_ARGUMENT, "1,001 SKUs: INVALID_ARGUMENT")

    watch = stock.WatchStock(stock_pb2.WatchStockRequest(skus=[arguments.sku, "NO-SUCH-SKU"]), metadata=customer, timeout=10)
    first = {level.sku: level for level in [next(watch), next(watch)]}
    watch.cancel()
    check(set(first) == {arguments.sku, "NO-SUCH-SKU"} and first["NO-SUCH-SKU"].deleted and not first[arguments.sku].deleted
          and first[arguments.sku].available > 0, f"WatchStock streams the stock now ({first})")
    check(code_of(lambda: list(stock.WatchStock(stock_pb2.WatchStockRequest(skus=[f"S{i}" for i in range(101)]), metadata=customer, timeout=10)))
          == grpc.StatusCode.INVALID_ARGUMENT, "WatchStock of 101 SKUs: INVALID_ARGUMENT")

    # The customer's cart holds 2 of the SKU (put there over REST by the test).
    page = storefront.GetProductPage(storefront_pb2.GetProductPageRequest(sku=arguments.sku), metadata=customer, timeout=10)
    check(page.product.sku == arguments.sku and page.product.stock > 0 and page.cart.status == "open"
          and [(line.sku, line.quantity, line.product.stock) for line in page.cart.lines] == [(arguments.sku, 2, page.product.stock)],
          f"a product page (product, stock, the caller's cart with its lines' stock) in one call ({page})")
    by_service = storefront.GetProductPage(storefront_pb2.GetProductPageRequest(sku=arguments.sku, customer_id=arguments.customer), metadata=service, timeout=10)
    check(by_service == page, "the service token reads any customer's product page")
    check(code_of(lambda: storefront.GetProductPage(storefront_pb2.GetProductPageRequest(sku=arguments.sku, customer_id=arguments.customer), metadata=other, timeout=10))
          == grpc.StatusCode.PERMISSION_DENIED, "another customer's cart: PERMISSION_DENIED")
    check(code_of(lambda: storefront.GetProductPage(storefront_pb2.GetProductPageRequest(sku="NO-SUCH-SKU"), metadata=customer, timeout=10))
          == grpc.StatusCode.NOT_FOUND, "an unknown SKU: NOT_FOUND")

    key = "py-" + str(uuid.uuid4())
    request = order_pb2.PlaceOrderRequest(idempotency_key=key, lines=[order_pb2.NewOrderLine(sku=arguments.sku, quantity=2)])
    placed = orders.PlaceOrder(request, metadata=customer, timeout=30)
    check(placed.order.status == order_pb2.ORDER_STATUS_PENDING and not placed.replayed and placed.order.customer_id == arguments.customer
          and placed.order.lines[0].quantity == 2, "PlaceOrder places a PENDING order")
    again = orders.PlaceOrder(request, metadata=customer, timeout=30)
    check(again.replayed and again.order.id == placed.order.id, "the same key and lines: the same order, replayed")
    reused = order_pb2.PlaceOrderRequest(idempotency_key=key, lines=[order_pb2.NewOrderLine(sku=arguments.sku, quantity=3)])
    check(code_of(lambda: orders.PlaceOrder(reused, metadata=customer, timeout=30)) == grpc.StatusCode.ALREADY_EXISTS,
          "the same key with other lines: ALREADY_EXISTS")
    # The test's server allows 10 open units per customer (ORDER_MAX_OPEN_UNITS); 2 are held.
    too_many = order_pb2.PlaceOrderRequest(idempotency_key="many-" + key, lines=[order_pb2.NewOrderLine(sku=arguments.sku, quantity=9)])
    check(code_of(lambda: orders.PlaceOrder(too_many, metadata=customer, timeout=30)) == grpc.StatusCode.RESOURCE_EXHAUSTED,
          "past the open-units limit: RESOURCE_EXHAUSTED")
    check(code_of(lambda: orders.PlaceOrder(order_pb2.PlaceOrderRequest(idempotency_key="k-" + key), metadata=customer, timeout=30))
          == grpc.StatusCode.INVALID_ARGUMENT, "no lines: INVALID_ARGUMENT")
    check(code_of(lambda: orders.PlaceOrder(order_pb2.PlaceOrderRequest(lines=request.lines), metadata=customer, timeout=30))
          == grpc.StatusCode.INVALID_ARGUMENT, "no idempotency key: INVALID_ARGUMENT")

    got = orders.GetOrder(order_pb2.GetOrderRequest(id=placed.order.id), metadata=customer, timeout=10)
    check(got.id == placed.order.id and got.total_minor == placed.order.total_minor, "GetOrder: one's own order")
    check(code_of(lambda: orders.GetOrder(order_pb2.GetOrderRequest(id=placed.order.id), metadata=other, timeout=10)) == grpc.StatusCode.NOT_FOUND,
          "GetOrder of another customer's order: NOT_FOUND")

    listed = [order.id for order in orders.ListOrders(order_pb2.ListOrdersRequest(), metadata=customer, timeout=10)]
    check(listed == [placed.order.id], f"ListOrders streams one's own orders ({listed})")
    check(code_of(lambda: list(orders.ListOrders(order_pb2.ListOrdersRequest(customer_id=arguments.customer), metadata=other, timeout=10)))
          == grpc.StatusCode.PERMISSION_DENIED, "ListOrders of another customer: PERMISSION_DENIED")
    by_service = [order.id for order in orders.ListOrders(order_pb2.ListOrdersRequest(customer_id=arguments.customer), metadata=service, timeout=10)]
    check(by_service == [placed.order.id], "the service token lists any customer's orders")
    check(code_of(lambda: orders.PlaceOrder(request, metadata=service, timeout=30)) == grpc.StatusCode.INVALID_ARGUMENT,
          "a service placing an order must name the customer: INVALID_ARGUMENT")

    check(health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10).status == health_pb2.HealthCheckResponse.SERVING,
          "grpc.health.v1 Check: SERVING")
    check(health.Check(health_pb2.HealthCheckRequest(service="emporium.order.v1.OrderService"), timeout=10).status
          == health_pb2.HealthCheckResponse.SERVING, "grpc.health.v1 Check of OrderService: SERVING")
    check(code_of(lambda: health.Check(health_pb2.HealthCheckRequest(service="nope.Service"), timeout=10)) == grpc.StatusCode.NOT_FOUND,
          "grpc.health.v1 Check of an unknown service: NOT_FOUND")
    watch = health.Watch(health_pb2.HealthCheckRequest(service=""), timeout=10)
    check(next(watch).status == health_pb2.HealthCheckResponse.SERVING, "grpc.health.v1 Watch streams SERVING")
    watch.cancel()

    # Server reflection, as grpcio-reflection's client (v1alpha) reads it: every service, and a
    # service's methods with their messages' fields, without the .proto files.
    from google.protobuf.descriptor_pool import DescriptorPool
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
    database = ProtoReflectionDescriptorDatabase(channel)
    services = sorted(database.get_services())
    check({"emporium.stock.v1.StockService", "emporium.order.v1.OrderService", "emporium.storefront.v1.StorefrontService",
           "grpc.health.v1.Health"} <= set(services), f"reflection lists the services ({services})")
    pool = DescriptorPool(database)
    described = pool.FindServiceByName("emporium.order.v1.OrderService")
    fields = [field.name for field in pool.FindMessageTypeByName("emporium.order.v1.PlaceOrderRequest").fields]
    check(sorted(method.name for method in described.methods) == ["GetOrder", "ListOrders", "PlaceOrder"]
          and fields == ["idempotency_key", "lines", "customer_id"], f"reflection describes OrderService and its messages ({fields})")

    check(code_of(lambda: stock.GetStock(stock_pb2.GetStockRequest(skus=[arguments.sku]), metadata=customer, timeout=0.000001))
          == grpc.StatusCode.DEADLINE_EXCEEDED, "a call past its deadline: DEADLINE_EXCEEDED")


if __name__ == "__main__":
    main()
