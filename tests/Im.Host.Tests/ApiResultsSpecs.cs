using Im.Contracts;
using Im.Host.Api;

namespace Im.Host.Tests;

public sealed class ApiResultsSpecs
{
    [Theory]
    [InlineData(ErrorCodes.InvalidParameter, 400)]
    [InlineData(ErrorCodes.ContentEmpty, 400)]
    [InlineData(ErrorCodes.ContentTooLong, 400)]
    [InlineData(ErrorCodes.GroupIdEmpty, 400)]
    [InlineData(ErrorCodes.AlreadyMember, 400)]
    [InlineData(ErrorCodes.UserNotFound, 404)]
    [InlineData(ErrorCodes.NotMember, 404)]
    [InlineData(ErrorCodes.GroupNotFound, 404)]
    [InlineData(ErrorCodes.MessageNotFound, 404)]
    [InlineData(ErrorCodes.NotFound, 404)]
    [InlineData(ErrorCodes.Unauthorized, 401)]
    [InlineData(ErrorCodes.MethodNotAllowed, 405)]
    [InlineData(ErrorCodes.UnsupportedMediaType, 415)]
    [InlineData(ErrorCodes.ServiceUnavailable, 503)]
    [InlineData(ErrorCodes.InternalError, 500)]
    public void Should_map_each_business_code_to_its_status(string code, int status) =>
        Assert.Equal(status, ApiResults.StatusFor(code));
}
