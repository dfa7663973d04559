// Validates an OpenAPI document with swagger-parser: the OpenAPI 3.0
// schema, then the rules a schema cannot say (unique operationIds, path
// parameters that match their templates, resolvable references).
// Usage: node validate.mjs FILE; prints "valid" or the error, exit 0 or 1.
import SwaggerParser from '@apidevtools/swagger-parser';

try {
    await SwaggerParser.validate(process.argv[2]);
    console.log('valid');
} catch (e) {
    console.log(e.message);
    process.exit(1);
}
