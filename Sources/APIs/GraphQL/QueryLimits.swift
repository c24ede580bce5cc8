import GraphQL

/// What a query may cost before it runs: how deep its selections nest, and an estimate of the
/// fields it would resolve. A query past either is refused with a GraphQL error, and nothing of it
/// runs (a query 50 levels deep, or one asking for 10,000 items, costs the server a parse).
public struct QueryLimits: Sendable {
    public var maximumDepth: Int
    public var maximumComplexity: Int
    /// The size assumed for a list with no `first` argument (an order's lines, its history).
    public static let assumedListSize = 10

    public init(maximumDepth: Int, maximumComplexity: Int) {
        self.maximumDepth = maximumDepth
        self.maximumComplexity = maximumComplexity
    }

    /// Before validation: the nesting of every operation, fragments followed (a fragment cycle,
    /// which validation refuses, is not followed twice on one path).
    func checkDepth(_ document: Document) -> GraphQLError? {
        let fragments = Self.fragments(document)
        for case let operation as OperationDefinition in document.definitions {
            let depth = depth(operation.selectionSet, level: 1, fragments: fragments, visiting: [])
            if depth > maximumDepth {
                return GraphQLError(
                    message: "The query nests \(depth > maximumDepth + 1 ? "more than \(maximumDepth)" : "\(depth)") levels deep; at most \(maximumDepth) are allowed.",
                    nodes: [operation], extensions: ["code": .string("DEPTH_LIMIT_EXCEEDED")])
            }
        }
        return nil
    }

    private func depth(_ selections: SelectionSet, level: Int, fragments: [String: FragmentDefinition], visiting: Set<String>) -> Int {
        var deepest = level
        for selection in selections.selections {
            // Past the limit is all that matters: stop walking.
            if deepest > maximumDepth { return deepest }
            if let field = selection as? Field {
                if let nested = field.selectionSet {
                    deepest = max(deepest, depth(nested, level: level + 1, fragments: fragments, visiting: visiting))
                }
            } else if let inline = selection as? InlineFragment {
                deepest = max(deepest, depth(inline.selectionSet, level: level, fragments: fragments, visiting: visiting))
            } else if let spread = selection as? FragmentSpread, !visiting.contains(spread.name.value),
                let fragment = fragments[spread.name.value]
            {
                deepest = max(deepest, depth(fragment.selectionSet, level: level, fragments: fragments, visiting: visiting.union([spread.name.value])))
            }
        }
        return deepest
    }

    /// After validation (the document is well-formed against the schema): every `first` within
    /// the page sizes, and the estimated fields within the complexity limit. Each field counts 1;
    /// a field with `first: n` counts its selections n times (its edges and nodes once more
    /// inside), another list field ``assumedListSize`` times; introspection counts 1.
    func checkCost(_ document: Document, operationName: String?, variables: [String: Map], schema: GraphQLSchema) -> GraphQLError? {
        let operations = document.definitions.compactMap { $0 as? OperationDefinition }
        guard let operation = operations.first(where: { $0.name?.value == operationName }) ?? (operations.count == 1 ? operations.first : nil),
            let root = schema.queryType
        else { return nil }
        var walk = CostWalk(fragments: Self.fragments(document), variables: variables, schema: schema)
        let cost = walk.cost(operation.selectionSet, type: root, insidePage: false, visiting: [])
        if let error = walk.error { return error }
        if cost > maximumComplexity {
            return GraphQLError(
                message: "The query would resolve about \(cost) fields; at most \(maximumComplexity) are allowed. Ask for smaller pages or fewer fields.",
                nodes: [operation], extensions: ["code": .string("COMPLEXITY_LIMIT_EXCEEDED"), "cost": .number(Number(cost))])
        }
        return nil
    }

    static func fragments(_ document: Document) -> [String: FragmentDefinition] {
        var fragments: [String: FragmentDefinition] = [:]
        for case let fragment as FragmentDefinition in document.definitions { fragments[fragment.name.value] = fragment }
        return fragments
    }
}

private struct CostWalk {
    let fragments: [String: FragmentDefinition]
    let variables: [String: Map]
    let schema: GraphQLSchema
    var error: GraphQLError?

    mutating func cost(_ selections: SelectionSet, type: (any GraphQLNamedType)?, insidePage: Bool, visiting: Set<String>) -> Int {
        var total = 0
        for selection in selections.selections {
            if let field = selection as? Field {
                total += cost(field, parent: type, insidePage: insidePage, visiting: visiting)
            } else if let inline = selection as? InlineFragment {
                let narrowed = inline.typeCondition.flatMap { schema.getType(name: $0.name.value) } ?? type
                total += cost(inline.selectionSet, type: narrowed, insidePage: insidePage, visiting: visiting)
            } else if let spread = selection as? FragmentSpread, !visiting.contains(spread.name.value),
                let fragment = fragments[spread.name.value]
            {
                total += cost(
                    fragment.selectionSet, type: schema.getType(name: fragment.typeCondition.name.value), insidePage: insidePage,
                    visiting: visiting.union([spread.name.value]))
            }
        }
        return total
    }

    private mutating func cost(_ field: Field, parent: (any GraphQLNamedType)?, insidePage: Bool, visiting: Set<String>) -> Int {
        let name = field.name.value
        if name.hasPrefix("__") { return name == "__typename" ? 0 : 1 }
        let definition = (parent as? GraphQLObjectType).flatMap { try? $0.fields()[name] }
        guard let nested = field.selectionSet else { return 1 }
        var multiplier = 1
        var page = false
        if let argument = field.arguments.first(where: { $0.name.value == "first" }) {
            let size = pageSize(argument.value)
            if let size, !StorefrontResolver.pageSizes.contains(size) {
                error = error ?? GraphQLError(
                    message: "first must be \(StorefrontResolver.pageSizes.lowerBound) to \(StorefrontResolver.pageSizes.upperBound), got \(size).",
                    nodes: [field], extensions: ["code": .string("BAD_USER_INPUT")])
            }
            multiplier = size ?? StorefrontResolver.defaultPageSize
            page = true
        } else if definition.map({ Self.isList($0.type) }) == true, !insidePage {
            multiplier = QueryLimits.assumedListSize
        } else if definition?.args.keys.contains("first") == true {
            multiplier = StorefrontResolver.defaultPageSize
            page = true
        }
        let named = definition.flatMap { getNamedType(type: $0.type) }
        return 1 + multiplier * cost(nested, type: named, insidePage: page, visiting: visiting)
    }

    /// The `first` a field was given: a literal or a variable (nil: absent or null).
    private func pageSize(_ value: any Value) -> Int? {
        if let literal = value as? IntValue { return Int(literal.value) }
        if let variable = value as? Variable, case .number(let number)? = variables[variable.name.value] { return number.intValue }
        return nil
    }

    private static func isList(_ type: any GraphQLType) -> Bool {
        if let nonNull = type as? GraphQLNonNull { return nonNull.ofType is GraphQLList }
        return type is GraphQLList
    }
}
