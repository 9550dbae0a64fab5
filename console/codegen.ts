import type { CodegenConfig } from "@graphql-codegen/cli";

// Types for every operation in src/operations/*.graphql, from the committed core API schema.
const config: CodegenConfig = {
  schema: "../backend/graphql/schema.graphql",
  documents: ["src/operations/*.graphql"],
  generates: {
    "src/gql/graphql.ts": {
      plugins: ["typescript", "typescript-operations", "typed-document-node"],
      config: {
        enumsAsTypes: true,
        avoidOptionals: { field: true, inputValue: false },
        scalars: { Decimal: "string", DateTime: "string", Date: "string", Upload: "File", JSONString: "string", ID: "string" },
        useTypeImports: true,
        skipTypename: true,
        onlyOperationTypes: true,
      },
    },
  },
  hooks: {},
};

export default config;
