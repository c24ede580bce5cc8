public import GRPCCore
import GRPCProtobuf
import SwiftProtobuf

/// Server reflection, `grpc.reflection.v1` and its predecessor `v1alpha` (the same messages,
/// which Python's grpcio-reflection still asks), both answered by one ``ReflectionIndex``. No
/// credentials needed: it describes the contracts, which are public in proto/.
public struct ReflectionGRPCService: Grpc_Reflection_V1_ServerReflection.ServiceProtocol {
    let index: ReflectionIndex

    /// Every service this server registers, this one and v1alpha included.
    public init(services: [String]) throws {
        index = try ReflectionIndex(descriptorSet: PackageResources.descriptors_pb, services: services)
    }

    /// The same index behind the v1alpha name.
    public var alpha: ReflectionAlphaGRPCService { ReflectionAlphaGRPCService(index: index) }

    public func serverReflectionInfo(
        request: StreamingServerRequest<Grpc_Reflection_V1_ServerReflectionRequest>, context: ServerContext
    ) async throws -> StreamingServerResponse<Grpc_Reflection_V1_ServerReflectionResponse> {
        let index = self.index
        return StreamingServerResponse { writer in
            for try await question in request.messages { try await writer.write(Self.response(to: question, from: index)) }
            return [:]
        }
    }

    static func response(
        to question: Grpc_Reflection_V1_ServerReflectionRequest, from index: ReflectionIndex
    ) -> Grpc_Reflection_V1_ServerReflectionResponse {
        let kind: ReflectionIndex.Question = switch question.messageRequest {
        case .listServices: .listServices
        case .fileByFilename(let name): .fileByName(name)
        case .fileContainingSymbol(let symbol): .fileContainingSymbol(symbol)
        case .fileContainingExtension: .unsupported("file_containing_extension")
        case .allExtensionNumbersOfType: .unsupported("all_extension_numbers_of_type")
        case nil: .unsupported("an empty request")
        }
        return .with {
            $0.validHost = question.host
            $0.originalRequest = question
            switch index.answer(kind) {
            case .services(let names): $0.listServicesResponse = .with { $0.service = names.map { name in .with { $0.name = name } } }
            case .files(let files): $0.fileDescriptorResponse = .with { $0.fileDescriptorProto = files }
            case .error(let code, let message): $0.errorResponse = .with { $0.errorCode = code; $0.errorMessage = message }
            }
        }
    }
}

/// `grpc.reflection.v1alpha.ServerReflection`: its messages have v1's fields and numbers, so each
/// is read as v1's, answered as v1 is, and written back as v1alpha's.
public struct ReflectionAlphaGRPCService: Grpc_Reflection_V1alpha_ServerReflection.ServiceProtocol {
    let index: ReflectionIndex

    public func serverReflectionInfo(
        request: StreamingServerRequest<Grpc_Reflection_V1alpha_ServerReflectionRequest>, context: ServerContext
    ) async throws -> StreamingServerResponse<Grpc_Reflection_V1alpha_ServerReflectionResponse> {
        let index = self.index
        return StreamingServerResponse { writer in
            for try await question in request.messages {
                let asked = try Grpc_Reflection_V1_ServerReflectionRequest(serializedBytes: try question.serializedBytes() as [UInt8])
                let answer = ReflectionGRPCService.response(to: asked, from: index)
                try await writer.write(try Grpc_Reflection_V1alpha_ServerReflectionResponse(serializedBytes: try answer.serializedBytes() as [UInt8]))
            }
            return [:]
        }
    }
}
